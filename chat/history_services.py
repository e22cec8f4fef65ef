"""Writes of chat history (/api/v1/chats/*). Access: a chat is changed only by its owner; a chat the
caller may not read is not found (404), one it may only read (an admin) is 403. Plain API
completions never come here: clients save chats through these routes, as in Open WebUI."""

import copy
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts import access, grants
from chat import history_body
from chat import history_selectors as selectors
from chat.models import Chat, SharedChat, Tag
from config.common.errors import ApplicationError

READ_ONLY = "You may read this chat, not change it."
PROHIBITED = "You do not have permission to access this resource. Please contact your administrator for assistance."


def _require(user, permission: str) -> None:
    if not access.has_permission(user, permission):
        raise ApplicationError(403, PROHIBITED)


def owned_chat(user, chat_id, *, lock: bool = False) -> Chat:
    """The caller's own chat: 404 when it cannot read it, 403 when it may only read it."""
    qs = selectors.readable(user)
    chat = selectors.get(qs.select_for_update(of=("self",)) if lock else qs, chat_id)
    if chat.user_id != user.pk:
        raise ApplicationError(403, READ_ONLY)
    return chat


def _folder_id(user, folder_id):
    """A folder the caller owns (None stays None); any other is not found."""
    if folder_id is None:
        return None
    return selectors.folder(user, folder_id).id


def _title(body: dict) -> str:
    title = body.get("title")
    return title if isinstance(title, str) else "New Chat"


def _tag_id(name: str) -> str:
    return name.replace(" ", "_").lower()


def ensure_tags(user, names: list[str]) -> None:
    Tag.objects.bulk_create([Tag(user_id=user.pk, tag_id=_tag_id(n), name=n) for n in dict.fromkeys(names) if n],
                            ignore_conflicts=True)


def _drop_unused_tags(user, tag_ids) -> None:
    """Delete the caller's tags no chat of theirs carries any more (one query for all)."""
    for tag_id in tag_ids:
        if not selectors.with_tag(selectors.owned(user), tag_id).exists():
            Tag.objects.filter(user_id=user.pk, tag_id=tag_id).delete()


# --- create, import, update -----------------------------------------------------------------------


def create(*, user, body: dict, variables: dict | None = None, folder_id=None) -> Chat:
    folder = _folder_id(user, folder_id)
    history_body.set_authors(body, user)
    now = timezone.now()
    return Chat.objects.create(user_id=user.pk, title=_title(body), chat=body, folder_id=folder,
                               variables=variables or {}, current_message_id=history_body.current_id(body),
                               created_at=now, updated_at=now, last_read_at=now)


@transaction.atomic
def import_chats(*, user, items: list[dict]) -> list[Chat]:
    """POST /chats/import: many chats at once (one insert); folders the caller does not own are dropped."""
    _require(user, "chat.import")
    wanted = {selectors.as_uuid(i.get("folder_id")) for i in items if i.get("folder_id")}
    mine = set(selectors.folders(user).filter(id__in=[w for w in wanted if w]).values_list("id", flat=True))
    now = timezone.now()
    rows = []
    for item in items:
        body = item["chat"]
        history_body.set_authors(body, user)
        folder = selectors.as_uuid(item.get("folder_id"))
        created = from_ts(item.get("created_at")) or now
        rows.append(Chat(user_id=user.pk, title=_title(body), chat=body, folder_id=folder if folder in mine else None,
                         meta=item.get("meta") or {}, variables=item.get("variables") or {},
                         pinned=bool(item.get("pinned")), archived=bool(item.get("archived")),
                         current_message_id=item.get("current_message_id") or history_body.current_id(body),
                         created_at=created, updated_at=from_ts(item.get("updated_at")) or created, last_read_at=now))
    chats = Chat.objects.bulk_create(rows)
    ensure_tags(user, [t for c in chats for t in (c.meta.get("tags") or []) if isinstance(t, str)])
    return chats


def from_ts(value):
    return datetime.fromtimestamp(value, tz=UTC) if value else None


@transaction.atomic
def update(*, user, chat_id, body: dict, variables: dict | None = None) -> Chat:
    """POST /chats/{id}: top-level keys replace the stored ones; `history` is merged so a client that
    read earlier does not drop messages saved since."""
    chat = owned_chat(user, chat_id, lock=True)
    history_body.set_authors(body, user)
    stored = chat.chat if isinstance(chat.chat, dict) else {}
    updated = {**stored, **body}
    if "history" in body:
        updated["history"] = history_body.merge_history(stored.get("history"), body["history"])
    chat.chat = updated
    chat.title = _title(updated)
    if any(k in body for k in ("history", "messages", "currentId")):
        chat.current_message_id = history_body.current_id(updated)
    if "history" in body or "messages" in body:
        chat.updated_at = timezone.now()
    if variables is not None:
        chat.variables = variables
    chat.save()
    return chat


@transaction.atomic
def update_params(*, user, chat_id, params: dict) -> dict:
    chat = owned_chat(user, chat_id, lock=True)
    body = chat.chat if isinstance(chat.chat, dict) else {}
    body["params"] = {**(body.get("params") if isinstance(body.get("params"), dict) else {}), **params}
    chat.chat = body
    chat.save(update_fields=["chat"])
    return body["params"]


@transaction.atomic
def update_message(*, user, chat_id, message_id: str, content: str | None, voice: dict | None) -> Chat:
    chat = owned_chat(user, chat_id, lock=True)
    changes: dict = {}
    if content is not None:
        changes["content"] = content
    if voice is not None:
        if message_id not in history_body.messages_map(chat.chat):
            raise ApplicationError(404, selectors.NOT_FOUND)
        old = history_body.messages_map(chat.chat)[message_id].get("meta")
        changes["meta"] = {**(old if isinstance(old, dict) else {}), "voice": voice}
    if not changes:
        raise ApplicationError(400, "No message changes supplied")
    history_body.upsert_message(chat.chat, message_id, changes)
    chat.current_message_id = history_body.current_id(chat.chat)
    chat.updated_at = timezone.now()
    chat.save()
    return chat


PENDING_TOOL_CALL = {"pending", "queued", "requires_approval"}


@transaction.atomic
def resolve_tool_call(*, user, chat_id, message_id: str, call_id: str, action: str) -> None:
    """A tool call of a saved message, awaiting the user's approval, is rejected. This server runs no
    tools (Open WebUI runs an approved one and resumes the answer), so approving one is refused."""
    chat = owned_chat(user, chat_id, lock=True)
    message = history_body.messages_map(chat.chat).get(message_id)
    if not isinstance(message, dict):
        raise ApplicationError(404, selectors.NOT_FOUND)
    output = message.get("output") or []
    if not isinstance(output, list):
        raise ApplicationError(400, "Message has no resolvable output.")
    items = [item for item in output if isinstance(item, dict)]
    call = next((i for i in items if i.get("type") == "function_call" and (i.get("call_id") or i.get("id")) == call_id), None)
    if call is None:
        raise ApplicationError(404, "Tool call not found.")
    answered = any(i.get("type") == "function_call_output" and i.get("call_id") == call_id for i in items)
    if answered or call.get("status") not in PENDING_TOOL_CALL or call.get("approved") is True:
        raise ApplicationError(409, "Tool call has already been resolved.")
    if action != "reject":
        raise ApplicationError(400, "This server runs no tools: a tool call can only be rejected.")
    call.update(call_id=call_id, status="rejected")
    chat.save(update_fields=["chat"])


@transaction.atomic
def delete_message(*, user, chat_id, message_id: str) -> Chat:
    chat = owned_chat(user, chat_id, lock=True)
    if not history_body.delete_message(chat.chat, message_id):
        raise ApplicationError(404, selectors.NOT_FOUND)
    chat.current_message_id = history_body.current_id(chat.chat)
    chat.updated_at = timezone.now()
    chat.save()
    return chat


# --- delete ---------------------------------------------------------------------------------------


@transaction.atomic
def delete(*, user, chat_id) -> bool:
    chat = selectors.get(selectors.readable(user), chat_id)
    if not access.can_delete_chat(user, chat):
        raise ApplicationError(403, PROHIBITED)
    tag_ids = (chat.meta or {}).get("tags") or []
    owner = chat.user
    grants.delete_all(access.CHAT, chat.id)
    chat.delete()
    _drop_unused_tags(owner, tag_ids)
    return True


@transaction.atomic
def delete_all(*, user) -> bool:
    _require(user, "chat.delete")
    grants.delete_many(access.CHAT, selectors.owned(user).values_list("id", flat=True))
    selectors.owned(user).delete()
    Tag.objects.filter(user_id=user.pk).delete()
    return True


# --- flags ----------------------------------------------------------------------------------------


def toggle_pin(*, user, chat_id) -> Chat:
    chat = owned_chat(user, chat_id)
    now = timezone.now()
    chat.pinned, chat.updated_at, chat.last_read_at = not chat.pinned, now, now
    chat.save(update_fields=["pinned", "updated_at", "last_read_at"])
    return chat


def toggle_archive(*, user, chat_id) -> Chat:
    """Archiving takes a chat out of its folder (as Open WebUI); unarchiving restores its tags."""
    chat = owned_chat(user, chat_id)
    now = timezone.now()
    chat.archived, chat.folder_id, chat.updated_at, chat.last_read_at = not chat.archived, None, now, now
    chat.save(update_fields=["archived", "folder", "updated_at", "last_read_at"])
    if not chat.archived:
        ensure_tags(user, [t for t in chat.meta.get("tags") or [] if isinstance(t, str)])
    return chat


def archive_all(*, user) -> bool:
    selectors.owned(user).update(archived=True, folder=None)
    return True


def unarchive_all(*, user) -> bool:
    archived = selectors.owned(user).filter(archived=True)
    ensure_tags(user, [t for meta in archived.values_list("meta", flat=True) for t in (meta or {}).get("tags") or []
                       if isinstance(t, str)])
    archived.update(archived=False)
    return True


def move(*, user, chat_id, folder_id) -> Chat:
    chat = owned_chat(user, chat_id)
    chat.folder_id = _folder_id(user, folder_id)
    chat.updated_at = timezone.now()
    chat.save(update_fields=["folder", "updated_at"])
    return chat


def mark_unread(*, user, chat_id) -> Chat:
    chat = owned_chat(user, chat_id)
    chat.last_read_at = datetime.fromtimestamp(0, tz=UTC)
    chat.save(update_fields=["last_read_at"])
    return chat


def mark_all_read(*, user, folder_ids=None) -> int:
    qs = selectors.owned(user).filter(archived=False)
    if folder_ids is not None:
        qs = qs.filter(folder_id__in=folder_ids)
    return qs.update(last_read_at=F("updated_at"))


# --- copies ---------------------------------------------------------------------------------------


def _copy(*, user, source: dict, title: str, meta: dict, variables: dict, pinned: bool, folder_id) -> Chat:
    now = timezone.now()
    return Chat.objects.create(user_id=user.pk, title=title, chat={**source, "title": title}, meta=meta,
                               variables=variables, pinned=pinned, folder_id=folder_id,
                               current_message_id=history_body.current_id(source),
                               created_at=now, updated_at=now, last_read_at=now)


def _as_reader(body: dict, owner_id, user) -> dict:
    """Another user's chat body as the caller may keep it: the owner's private keys and message metadata
    removed, the owner's messages now the caller's (Open WebUI's clone/fork of a shared chat)."""
    body = copy.deepcopy(body)
    for key in ("params", "tool_servers", "tool_ids", "filter_ids", "variables", "share_mode"):
        body.pop(key, None)
    messages = list(history_body.messages_map(body).values())
    messages += [m for m in body.get("messages") or [] if isinstance(m, dict)] if isinstance(body.get("messages"), list) else []
    for m in messages:
        m.pop("meta", None)
        if (m.get("user_id") or str(owner_id)) == str(owner_id):
            m["user_id"] = str(user.pk)
            if m.get("role") == "user":
                m["user"] = {"id": str(user.pk), "name": user.name}
    return body


def clone(*, user, chat_id, title: str | None) -> Chat:
    _require(user, "chat.import")
    chat = owned_chat(user, chat_id)
    source = {**chat.chat, "originalChatId": str(chat.id), "branchPointMessageId": history_body.current_id(chat.chat)}
    return _copy(user=user, source=source, title=title or f"Clone of {chat.title}", meta=chat.meta,
                 variables=chat.variables or {}, pinned=chat.pinned, folder_id=chat.folder_id)


def clone_shared(*, user, share_id) -> Chat:
    _require(user, "chat.import")
    shared = selectors.share(user, share_id)
    body = _as_reader(shared.snapshot, shared.user_id, user)
    body.update(originalChatId=str(shared.chat_id), branchPointMessageId=history_body.current_id(shared.snapshot))
    return _copy(user=user, source=body, title=f"Clone of {shared.title}", meta={}, variables={}, pinned=False,
                 folder_id=None)


def fork(*, user, chat_id, message_id: str | None) -> Chat:
    """A new chat holding the branch that ends at `message_id` (default: the current message), of the
    caller's own chat or of a share link it may read."""
    _require(user, "chat.import")
    chat = selectors.readable(user).filter(id=selectors.as_uuid(chat_id)).first() if selectors.as_uuid(chat_id) else None
    if chat is not None and chat.user_id == user.pk:
        body, owner_id, title, source_id = chat.chat, None, chat.title, chat.id
    else:
        shared = selectors.share(user, chat_id)
        body, owner_id, title, source_id = shared.snapshot, shared.user_id, shared.title, shared.chat_id
    source_message = message_id or history_body.current_id(body)
    if not source_message:
        raise ApplicationError(400, "chat has no messages to fork")
    messages = history_body.messages_map(body)
    if source_message not in messages:
        raise ApplicationError(404, "message not found")
    branch = copy.deepcopy(history_body.message_list(messages, source_message))
    for index, message in enumerate(branch):
        message["childrenIds"] = [branch[index + 1]["id"]] if index + 1 < len(branch) else []
        if message.get("role") == "assistant" and message.get("done") is False:
            message["done"] = True
    forked = {**body, "originalChatId": str(source_id), "branchPointMessageId": source_message,
              "title": f"{title} (fork)", "history": {"messages": {m["id"]: m for m in branch}, "currentId": source_message},
              "messages": branch}
    forked.pop("share_mode", None)
    if owner_id is not None:
        forked = _as_reader(forked, owner_id, user)
    meta = {**((chat.meta or {}) if owner_id is None and chat else {}), "forked_from": str(source_id),
            "forked_from_message_id": source_message}
    return _copy(user=user, source=forked, title=forked["title"], meta=meta,
                 variables=(chat.variables or {}) if owner_id is None and chat else {},
                 pinned=bool(owner_id is None and chat and chat.pinned),
                 folder_id=chat.folder_id if owner_id is None and chat else None)


# --- share links ----------------------------------------------------------------------------------


@transaction.atomic
def share(*, user, chat_id, share_mode: str | None = None, mode_given: bool = False) -> Chat:
    """POST /chats/{id}/share: a snapshot of the chat behind a link (re-sharing refreshes it). Who may
    open the link are the share's access grants (POST /chats/shared/{id}/access/update)."""
    _require(user, "chat.share")
    chat = owned_chat(user, chat_id, lock=True)
    shared = SharedChat.objects.filter(chat=chat).first()
    now = timezone.now()
    if shared is None:
        shared = SharedChat(chat=chat, user_id=user.pk, created_at=now)
        mode = share_mode
    else:
        mode = share_mode if mode_given else shared.snapshot.get("share_mode")
    shared.title, shared.snapshot, shared.updated_at = chat.title, {**chat.chat, "share_mode": mode}, now
    shared.save()
    if chat.share_id != shared.id:
        chat.share_id = shared.id
        chat.save(update_fields=["share_id"])
    return chat


@transaction.atomic
def unshare(*, user, chat_id) -> bool:
    chat = owned_chat(user, chat_id)
    SharedChat.objects.filter(chat=chat).delete()
    grants.delete_all(access.CHAT, chat.id)
    if chat.share_id:
        chat.share_id = None
        chat.save(update_fields=["share_id"])
    return True


@transaction.atomic
def unshare_all(*, user) -> bool:
    grants.delete_many(access.CHAT, SharedChat.objects.filter(user_id=user.pk).values_list("chat_id", flat=True))
    SharedChat.objects.filter(user_id=user.pk).delete()
    selectors.owned(user).filter(share_id__isnull=False).update(share_id=None)
    return True


def share_owner_chat(user, chat_id) -> Chat:
    """The chat whose share grants `user` manages: its own; any, for an admin while
    ENABLE_ADMIN_CHAT_ACCESS is on."""
    return selectors.get(selectors.readable(user), chat_id)


@transaction.atomic
def update_share_access(*, user, chat_id, access_grants, share_mode: str | None, mode_given: bool) -> Chat:
    chat = share_owner_chat(user, chat_id)
    requested = grants.parse(access_grants)
    if access.allowed_grants(user, access.CHAT, requested) != requested:
        raise ApplicationError(403, "You do not have permission to share with the requested audience")
    grants.replace(access.CHAT, chat.id, requested)
    if mode_given and chat.share_id:
        shared = SharedChat.objects.filter(id=chat.share_id).first()
        if shared is not None:
            shared.snapshot = {**shared.snapshot, "share_mode": share_mode}
            shared.save(update_fields=["snapshot"])
    return chat


# --- tags -----------------------------------------------------------------------------------------


@transaction.atomic
def add_tag(*, user, chat_id, name: str) -> Chat:
    chat = owned_chat(user, chat_id, lock=True)
    tag_id = _tag_id(name)
    if tag_id == "none":
        raise ApplicationError(400, "Tag name cannot be 'None'")
    tags = [t for t in chat.meta.get("tags") or [] if isinstance(t, str)]
    if tag_id not in tags:
        ensure_tags(user, [name])
        chat.meta = {**chat.meta, "tags": [*tags, tag_id]}
        chat.save(update_fields=["meta"])
    return chat


@transaction.atomic
def remove_tags(*, user, chat_id, name: str | None) -> Chat:
    """One tag by name, or all of the chat's tags (`name` None)."""
    chat = owned_chat(user, chat_id, lock=True)
    tags = [t for t in chat.meta.get("tags") or [] if isinstance(t, str)]
    removed = tags if name is None else [t for t in tags if t == _tag_id(name)]
    chat.meta = {**chat.meta, "tags": [t for t in tags if t not in removed]}
    chat.save(update_fields=["meta"])
    _drop_unused_tags(user, removed)
    return chat


def forget_tag_if_unused(*, user, name: str) -> None:
    _drop_unused_tags(user, [_tag_id(name)])


def delete_chats_in(*, user, folder_ids) -> None:
    """The caller's chats in these folders, with their share grants (deleting a folder with its contents)."""
    doomed = selectors.owned(user).filter(folder_id__in=folder_ids)
    grants.delete_many(access.CHAT, doomed.values_list("id", flat=True))
    doomed.delete()
