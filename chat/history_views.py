"""/api/v1/chats/* (Open WebUI 0.12.4's routers/chats.py; API.md §9): thin views over
chat.history_selectors (reads) and chat.history_services (writes).

Differences, deliberate: an unknown chat, or one the caller may not read, is 404 (Open WebUI: 401
for most routes), one it may only read (an admin) 403; ids that are not UUIDs are unknown ids. No
Socket.IO here: message events have no listener (`false`), chats are never "active"."""

import json

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from accounts import access, grants
from accounts.permissions import IsAdmin
from chat import history_body
from chat import history_selectors as selectors
from chat import history_services as services
from chat.history_serializers import (
    AccessIn,
    ChatIn,
    ChatsImportIn,
    CloneIn,
    EventIn,
    FolderIdIn,
    ForkIn,
    MessageIn,
    ParamsIn,
    ResolveIn,
    ShareIn,
    TagFilterIn,
    TagIn,
    chat_out,
    share_list_out,
    shared_out,
    tag_out,
    title_out,
)
from config.common.errors import ApplicationError
from config.common.exceptions import validated
from config.common.pagination import page_slice

PAGE = 60
EXPORT_BATCH = 100
PRIVATE_KEYS = ("params", "tool_servers", "tool_ids", "filter_ids", "variables")


def _flag(request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() in {"1", "true", "yes"}


def _paged(request, queryset, per_page: int = PAGE, *, default_all: bool = False):
    if default_all and "page" not in request.query_params:
        return queryset
    return queryset[page_slice(request, per_page=per_page)]


def _titles(chats) -> Response:
    return Response([title_out(c) for c in chats])


def _for_reader(user, data: dict, owner_id) -> dict:
    """A chat shown to someone who is not its owner: without the owner's private settings and message
    metadata (Open WebUI's shared_chat_response)."""
    if str(owner_id) == str(user.pk):
        return data
    data["variables"] = {}
    body = data["chat"] = dict(data["chat"])
    for key in PRIVATE_KEYS:
        body.pop(key, None)
    messages = history_body.messages_map(body)
    if messages:
        body["history"] = {**body["history"], "messages": {k: {f: v for f, v in m.items() if f != "meta"}
                                                           for k, m in messages.items() if isinstance(m, dict)}}
    if isinstance(body.get("messages"), list):
        body["messages"] = [{f: v for f, v in m.items() if f != "meta"} if isinstance(m, dict) else m for m in body["messages"]]
    return data


# --- lists ----------------------------------------------------------------------------------------


@api_view(["GET", "DELETE"])
def chats_root(request):
    """GET /chats/ (the list) and DELETE /chats/ (all of the caller's chats)."""
    if request.method == "DELETE":
        return Response(services.delete_all(user=request.user))
    return _chat_list(request)


@api_view(["GET"])
def chat_list(request):
    return _chat_list(request)


def _chat_list(request) -> Response:
    qs = selectors.chat_list(request.user, include_pinned=_flag(request, "include_pinned"),
                             include_folders=_flag(request, "include_folders"))
    qs = selectors.ordered(qs, request.query_params.get("sort_by"), request.query_params.get("sort_dir"))
    return _titles(_paged(request, qs, default_all=True))


@api_view(["GET"])
@permission_classes([IsAdmin])
def user_chat_list(request, user_id):
    """An admin lists a user's chats (archived included) while ENABLE_ADMIN_CHAT_ACCESS is on."""
    if not access.sees_all(request.user, access.CHAT):
        raise ApplicationError(401, services.PROHIBITED)
    owner = selectors.as_uuid(user_id)
    qs = selectors.titles(selectors.readable(request.user).filter(user_id=owner)) if owner else selectors.chats().none()
    if query := request.query_params.get("query"):
        qs = qs.filter(title__icontains=query)
    qs = selectors.ordered(qs, request.query_params.get("order_by"), request.query_params.get("direction"))
    return _titles(_paged(request, qs))


@api_view(["GET"])
def search(request):
    text = request.query_params.get("text")
    if text is None:
        raise ApplicationError(422, "text: Field required")
    chats = list(selectors.search(request.user, text).only(*selectors.LIST_FIELDS, "chat")[page_slice(request, per_page=PAGE)])
    if not chats and request.query_params.get("page", "1") == "1":
        words = text.strip().split(" ")
        if len(words) == 1 and words[0].startswith("tag:"):
            services.forget_tag_if_unused(user=request.user, name=words[0][4:])
    return Response([title_out(c, history_body.snippet(c.chat, text)) for c in chats])


@api_view(["GET"])
def pinned(request):
    qs = selectors.titles(selectors.owned(request.user).filter(pinned=True, archived=False)).order_by("-updated_at")
    return _titles(qs)


@api_view(["GET"])
def archived(request):
    qs = selectors.archived_list(request.user, query=request.query_params.get("query"))
    qs = selectors.ordered(qs, request.query_params.get("order_by"), request.query_params.get("direction"))
    return _titles(_paged(request, qs))


@api_view(["GET"])
def archived_count(request):
    return Response(selectors.owned(request.user).filter(archived=True).count())


@api_view(["GET"])
def all_archived(request):
    return Response([chat_out(c) for c in selectors.owned(request.user).filter(archived=True).order_by("-updated_at")])


@api_view(["GET"])
def all_tags(request):
    return Response([tag_out(t) for t in selectors.tags(request.user)])


@api_view(["GET"])
@permission_classes([IsAdmin])
def all_in_db(request):
    if not access.may_export_all_chats(request.user):
        raise ApplicationError(401, services.PROHIBITED)
    return Response([chat_out(c) for c in selectors.chats().order_by("-updated_at")])


@api_view(["GET"])
def export_all(request):
    """GET /chats/all: the caller's chats as NDJSON, one ChatResponse a line, read in batches."""
    user = request.user

    @sync_to_async
    def batch(offset):
        return [json.dumps(chat_out(c)) + "\n"
                for c in selectors.owned(user).order_by("-updated_at", "id")[offset:offset + EXPORT_BATCH]]

    async def lines():
        offset = 0
        while rows := await batch(offset):
            for row in rows:
                yield row
            offset += EXPORT_BATCH

    return StreamingHttpResponse(lines(), content_type="application/x-ndjson")


@api_view(["GET"])
def by_folder(request, folder_id):
    """Every chat (the whole ChatResponse) of a folder and its subfolders."""
    folder = selectors.folder(request.user, folder_id)
    ids = selectors.subtree_ids(request.user, folder)
    return Response([chat_out(c) for c in selectors.owned(request.user).filter(folder_id__in=ids).order_by("-updated_at")])


@api_view(["GET"])
def by_folder_list(request, folder_id):
    folder = selectors.folder(request.user, folder_id)
    qs = selectors.titles(selectors.owned(request.user).filter(folder=folder))
    qs = selectors.ordered(qs, request.query_params.get("sort_by"), request.query_params.get("sort_dir"))
    return _titles(_paged(request, qs, per_page=10))


@api_view(["GET"])
def shared_list(request):
    qs = selectors.shares(request.user)
    if query := request.query_params.get("query"):
        qs = qs.filter(title__icontains=query)
    qs = selectors.ordered(qs, request.query_params.get("order_by"), request.query_params.get("direction"))
    return Response([share_list_out(s) for s in _paged(request, qs)])


@extend_schema(request=TagFilterIn)
@api_view(["POST"])
def by_tag(request):
    data = validated(TagFilterIn, request.data)
    tag_id = data["name"].replace(" ", "_").lower()
    qs = selectors.with_tag(selectors.titles(selectors.owned(request.user)), tag_id).order_by("-updated_at", "id")
    skip, limit = data.get("skip") or 0, data.get("limit") if data.get("limit") is not None else 50
    chats = list(qs[skip:skip + limit] if limit else qs[skip:])
    if not chats:
        services.forget_tag_if_unused(user=request.user, name=data["name"])
    return _titles(chats)


@api_view(["POST"])
def mark_all_read(request):
    return Response({"updated_count": services.mark_all_read(user=request.user),
                     "folder_unread_counts": selectors.unread_counts(request.user)})


@api_view(["POST"])
def archive_all(request):
    return Response(services.archive_all(user=request.user))


@api_view(["POST"])
def unarchive_all(request):
    return Response(services.unarchive_all(user=request.user))


@api_view(["DELETE"])
def unshare_all(request):
    return Response(services.unshare_all(user=request.user))


# --- statistics -----------------------------------------------------------------------------------


def _int_param(request, name: str, default: int, *, low: int = 1, high: int = 1000) -> int:
    raw = request.query_params.get(name)
    try:
        value = default if raw in (None, "") else int(raw)
    except ValueError:
        raise ApplicationError(422, f"{name}: Input should be a valid integer")
    if not low <= value <= high:
        raise ApplicationError(422, f"{name} must be between {low} and {high}")
    return value


@api_view(["GET"])
def usage_stats(request):
    per_page = _int_param(request, "items_per_page", 50)
    page = _int_param(request, "page", 1, high=1_000_000)
    qs = selectors.owned(request.user).order_by("-updated_at", "id")
    items = []
    for chat in qs[(page - 1) * per_page: page * per_page]:
        if not history_body.messages_map(chat.chat) or not history_body.current_id(chat.chat):
            continue
        stats = history_body.aggregate(chat.chat)
        items.append({"id": str(chat.id), **stats, "tags": chat.meta.get("tags", []),
                      "updated_at": title_out(chat)["updated_at"], "created_at": title_out(chat)["created_at"]})
    return Response({"items": items, "total": qs.count()})


def _stats_export(chat) -> dict:
    stats = history_body.aggregate(chat.chat)
    stats.pop("last_message_at")
    out = title_out(chat)
    return {"id": str(chat.id), "user_id": str(chat.user_id), "created_at": out["created_at"],
            "updated_at": out["updated_at"], "tags": chat.meta.get("tags", []), "stats": stats,
            "chat": {"history": {"messages": history_body.message_stats(chat.chat),
                                 "currentId": history_body.current_id(chat.chat)}}}


def _export_allowed(user) -> None:
    if not access.has_permission(user, "chat.export"):
        raise ApplicationError(401, services.PROHIBITED)


@api_view(["GET"])
def stats_export(request):
    _export_allowed(request.user)
    qs = selectors.owned(request.user).order_by("updated_at", "id")
    if request.query_params.get("updated_at"):
        qs = qs.filter(updated_at__gt=services.from_ts(_int_param(request, "updated_at", 0, low=0, high=32503680000)))
    if _flag(request, "stream"):
        user_id = request.user.pk

        @sync_to_async
        def batch(offset):
            return [json.dumps(_stats_export(c)) + "\n" for c in qs.filter(user_id=user_id)[offset:offset + 10]]

        async def lines():
            offset = 0
            while rows := await batch(offset):
                for row in rows:
                    yield row
                offset += 10

        response = StreamingHttpResponse(lines(), content_type="application/x-ndjson")
        response["Content-Disposition"] = f"attachment; filename=chat-stats-export-{request.user.pk}.jsonl"
        return response
    page = _int_param(request, "page", 1, high=1_000_000)
    return Response({"type": "chats", "items": [_stats_export(c) for c in qs[(page - 1) * 10: page * 10]],
                     "total": qs.count(), "page": page})


@api_view(["GET"])
def stats_export_one(request, chat_id):
    _export_allowed(request.user)
    return Response(_stats_export(selectors.get(selectors.readable(request.user), chat_id)))


# --- create and import ----------------------------------------------------------------------------


@extend_schema(request=ChatIn)
@api_view(["POST"])
def new(request):
    data = validated(ChatIn, request.data)
    chat = services.create(user=request.user, body=data["chat"], variables=data.get("variables"),
                           folder_id=data.get("folder_id"))
    return Response(chat_out(chat))


@extend_schema(request=ChatsImportIn)
@api_view(["POST"])
def import_chats(request):
    data = validated(ChatsImportIn, request.data)
    return Response([chat_out(c) for c in services.import_chats(user=request.user, items=data["chats"])])


# --- one chat -------------------------------------------------------------------------------------


@extend_schema(request=ChatIn)
@api_view(["GET", "POST", "DELETE"])
def chat_detail(request, chat_id):
    if request.method == "POST":
        data = validated(ChatIn, request.data)
        return Response(chat_out(services.update(user=request.user, chat_id=chat_id, body=data["chat"],
                                                 variables=data.get("variables"))))
    if request.method == "DELETE":
        return Response(services.delete(user=request.user, chat_id=chat_id))
    chat = selectors.get(selectors.readable(request.user), chat_id)
    data = _for_reader(request.user, chat_out(chat), chat.user_id)
    data["chat"] = {**data["chat"], "share_mode": "continue" if chat.user_id == request.user.pk else None}
    return Response(data)


@api_view(["PATCH"])
def params(request, chat_id):
    validated(ParamsIn, request.data)  # any JSON object: its keys are the params
    return Response(services.update_params(user=request.user, chat_id=chat_id, params=request.data))


@api_view(["GET"])
def pinned_status(request, chat_id):
    return Response(services.owned_chat(request.user, chat_id).pinned)


@api_view(["POST"])
def pin(request, chat_id):
    return Response(chat_out(services.toggle_pin(user=request.user, chat_id=chat_id)))


@api_view(["POST"])
def archive(request, chat_id):
    return Response(chat_out(services.toggle_archive(user=request.user, chat_id=chat_id)))


@extend_schema(request=CloneIn)
@api_view(["POST"])
def clone(request, chat_id):
    data = validated(CloneIn, request.data or {})
    return Response(chat_out(services.clone(user=request.user, chat_id=chat_id, title=data.get("title"))))


@api_view(["POST"])
def clone_shared(request, chat_id):
    return Response(chat_out(services.clone_shared(user=request.user, share_id=chat_id)))


@extend_schema(request=ForkIn)
@api_view(["POST"])
def fork(request, chat_id):
    data = validated(ForkIn, request.data or {})
    return Response(chat_out(services.fork(user=request.user, chat_id=chat_id, message_id=data.get("message_id"))))


@api_view(["POST"])
def compact(request, chat_id):
    """Context compaction asks a model to summarise Open WebUI's stored branch; not offered here."""
    services.owned_chat(request.user, chat_id)
    raise ApplicationError(400, "Context compaction is not available on this server.")


@extend_schema(request=ShareIn)
@api_view(["POST", "DELETE"])
def share(request, chat_id):
    if request.method == "DELETE":
        return Response(services.unshare(user=request.user, chat_id=chat_id))
    data = validated(ShareIn, request.data or {})
    chat = services.share(user=request.user, chat_id=chat_id, share_mode=data.get("share_mode"),
                          mode_given="share_mode" in data)
    return Response(chat_out(chat))


@api_view(["GET"])
def shared_chat(request, share_id):
    """GET /chats/share/{share_id}: the snapshot, for its owner, the users its grants name (a `*`
    grant: every verified user) and admins while ENABLE_ADMIN_CHAT_ACCESS is on."""
    shared = selectors.share(request.user, share_id)
    data = _for_reader(request.user, shared_out(shared), shared.user_id)
    data["chat"] = {**data["chat"], "share_mode": None}
    return Response(data)


@extend_schema(request=AccessIn)
@api_view(["POST"])
def shared_access_update(request, chat_id):
    data = validated(AccessIn, request.data)
    chat = services.update_share_access(user=request.user, chat_id=chat_id, access_grants=data["access_grants"],
                                        share_mode=data.get("share_mode"), mode_given="share_mode" in data)
    return Response(chat_out(chat))


@api_view(["GET"])
def shared_access(request, chat_id):
    chat = services.share_owner_chat(request.user, chat_id)
    return Response([{k: g[k] for k in ("id", "principal_type", "principal_id", "permission")}
                     for g in grants.by_resource(access.CHAT, [chat.id])[str(chat.id)]])


@api_view(["POST"])
def unread(request, chat_id):
    chat = services.mark_unread(user=request.user, chat_id=chat_id)
    return Response({"chat_id": str(chat.id), "last_read_at": 0, "folder_id": str(chat.folder_id) if chat.folder_id else None,
                     "folder_unread_counts": selectors.unread_counts(request.user)})


@extend_schema(request=FolderIdIn)
@api_view(["POST"])
def move_to_folder(request, chat_id):
    data = validated(FolderIdIn, request.data)
    return Response(chat_out(services.move(user=request.user, chat_id=chat_id, folder_id=data.get("folder_id"))))


@extend_schema(request=TagIn)
@api_view(["GET", "POST", "DELETE"])
def tags(request, chat_id):
    if request.method == "GET":
        chat = selectors.get(selectors.readable(request.user), chat_id)
    else:
        name = validated(TagIn, request.data)["name"]
        change = services.add_tag if request.method == "POST" else services.remove_tags
        chat = change(user=request.user, chat_id=chat_id, name=name)
    return Response([tag_out(t) for t in selectors.tags_of(chat)])


@api_view(["DELETE"])
def tags_all(request, chat_id):
    services.remove_tags(user=request.user, chat_id=chat_id, name=None)
    return Response(True)


@extend_schema(request=MessageIn)
@api_view(["POST", "DELETE"])
def message(request, chat_id, message_id):
    if request.method == "DELETE":
        return Response(chat_out(services.delete_message(user=request.user, chat_id=chat_id, message_id=message_id)))
    data = validated(MessageIn, request.data)
    chat = services.update_message(user=request.user, chat_id=chat_id, message_id=message_id,
                                   content=data.get("content"), voice=data.get("voice"))
    return Response(chat_out(chat))


@extend_schema(request=EventIn)
@api_view(["POST"])
def message_event(request, chat_id, message_id):
    """Open WebUI relays the event to the chat's open Socket.IO sessions; there are none here (false,
    as Open WebUI answers when no session listens)."""
    validated(EventIn, request.data)
    services.owned_chat(request.user, chat_id)
    return Response(False)


@extend_schema(request=ResolveIn)
@api_view(["POST"])
def resolve(request, chat_id, message_id):
    """Answers a tool call awaiting approval; no task is started (this server runs no tools)."""
    data = validated(ResolveIn, request.data, status=400)
    services.resolve_tool_call(user=request.user, chat_id=chat_id, message_id=message_id,
                               call_id=data["call_id"], action=data["action"])
    return Response({"status": True, "chat_id": chat_id, "message_id": message_id, "task_ids": []})


# --- configuration --------------------------------------------------------------------------------

# Open WebUI's chat settings are about its context compaction and tool plugins, neither of which this
# server has: GET shows them off, POST accepts and answers the same (documented in the README).
CHAT_CONFIG = {
    "CONTEXT_COMPACTION_MODEL": "", "ENABLE_CONTEXT_COMPACTION": False, "CONTEXT_COMPACTION_TOKEN_THRESHOLD": 80000,
    "CONTEXT_COMPACTION_TOKEN_CAP": 80000, "CONTEXT_COMPACTION_RETENTION_PERCENTAGE": 40,
    "CONTEXT_COMPACTION_PROMPT_TEMPLATE": "", "ENABLE_TOOL_PERMISSIONS": False, "ENABLE_TOOL_SEARCH": False,
    "TOOL_SEARCH_DEFER_THRESHOLD": 400, "TOOL_SEARCH_ALWAYS_LOADED": [], "TOOL_SEARCH_DEFER_BUILTIN_TOOLS": True,
}


@api_view(["GET", "POST"])
@permission_classes([IsAdmin])
def chat_config(request):
    return Response(CHAT_CONFIG)
