"""Reads of chat history, always scoped to a user through accounts.access: a user's own chats and
folders; admins read others' chats only while ENABLE_ADMIN_CHAT_ACCESS is on; a share link's
readers are its grants."""

import uuid

from django.contrib.postgres.search import SearchQuery
from django.db.models import Count, F, Q, QuerySet

from accounts import access
from chat import history_body
from chat.models import Chat, Folder, SharedChat, Tag
from config.common.errors import ApplicationError

NOT_FOUND = "We could not find what you're looking for :/"
# What a list shows (ChatTitleIdResponse): never the chat body nor its search vector.
LIST_FIELDS = ("id", "user_id", "title", "updated_at", "created_at", "last_read_at", "archived")
ORDERS = {"updated_at", "created_at", "title"}


def as_uuid(value) -> uuid.UUID | None:
    """An id from a path or body; anything that is not a UUID names nothing (404 like an unknown id)."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def chats() -> QuerySet[Chat]:
    return Chat.objects.defer("search_vector")


def owned(user) -> QuerySet[Chat]:
    return chats().filter(user_id=user.pk)


def readable(user) -> QuerySet[Chat]:
    """Chats `user` may open: its own; every chat for an admin while ENABLE_ADMIN_CHAT_ACCESS is on."""
    if access.sees_all(user, access.CHAT, access.READ):
        return chats()
    return owned(user)


def get(queryset: QuerySet[Chat], chat_id) -> Chat:
    chat = queryset.filter(id=as_uuid(chat_id)).first() if as_uuid(chat_id) else None
    if chat is None:
        raise ApplicationError(404, NOT_FOUND)
    return chat


def titles(queryset: QuerySet[Chat]) -> QuerySet[Chat]:
    return queryset.only(*LIST_FIELDS)


def ordered(queryset: QuerySet[Chat], order_by: str | None, direction: str | None) -> QuerySet[Chat]:
    """Open WebUI's `order_by`/`direction` (or `sort_by`/`sort_dir`); newest first by default."""
    field = order_by if order_by in ORDERS else "updated_at"
    sign = "" if (direction or "desc").lower() == "asc" else "-"
    return queryset.order_by(f"{sign}{field}", "id")


def chat_list(user, *, include_pinned=False, include_folders=False, include_archived=False) -> QuerySet[Chat]:
    """GET /chats/ and /chats/list: outside folders and unpinned unless asked, never archived."""
    qs = owned(user)
    if not include_folders:
        qs = qs.filter(folder__isnull=True)
    if not include_pinned:
        qs = qs.filter(pinned=False)
    if not include_archived:
        qs = qs.filter(archived=False)
    return titles(qs)


def with_tag(queryset: QuerySet[Chat], tag_id: str) -> QuerySet[Chat]:
    return queryset.filter(meta__tags__contains=[tag_id])


def search(user, text: str) -> QuerySet[Chat]:
    """Title and message text (every word as a word prefix, through the GIN index on the generated
    search vector) with Open WebUI's filters: `tag:x`, `folder:name`, `pinned:`, `archived:`, `shared:`."""
    qs = owned(user)
    filters = history_body.search_filters(text)
    archived = filters.get("archived", [])
    if "true" in archived or "false" in archived:
        qs = qs.filter(archived="true" in archived)
    else:
        qs = qs.filter(archived=False)
    for name, field in (("pinned", "pinned"), ("shared", "share_id__isnull")):
        values = filters.get(name, [])
        if "true" in values or "false" in values:
            wanted = "true" in values
            qs = qs.filter(**{field: (not wanted) if name == "shared" else wanted})
    for tag in filters.get("tag", []):
        qs = qs.exclude(meta__tags__len__gt=0) if tag == "none" else with_tag(qs, tag.replace(" ", "_"))
    if names := filters.get("folder"):
        qs = qs.filter(folder__in=Folder.objects.filter(user_id=user.pk, name__iregex=r"^(" + "|".join(
            _regex_literal(n) for n in names) + r")$"))
    query = history_body.prefix_query(history_body.search_words(text))
    if query:
        qs = qs.filter(search_vector=SearchQuery(query, config="simple", search_type="raw"))
    return qs.order_by("-updated_at", "id")


def _regex_literal(text: str) -> str:
    return "".join(f"\\{c}" if not c.isalnum() else c for c in text.replace("_", " "))


def archived_list(user, *, query: str | None) -> QuerySet[Chat]:
    qs = owned(user).filter(archived=True)
    if query:
        qs = qs.filter(title__icontains=query)
    return titles(qs)


# --- share links ----------------------------------------------------------------------------------


def share(user, share_id) -> SharedChat:
    """A share link's snapshot, for its owner, its grants' users, and admins while
    ENABLE_ADMIN_CHAT_ACCESS is on; anything else is not found (404, no existence leak)."""
    shared = SharedChat.objects.select_related("chat").filter(id=as_uuid(share_id)).first() if as_uuid(share_id) else None
    if shared is None or not access.can_read(user, access.CHAT, shared.chat):
        raise ApplicationError(404, NOT_FOUND)
    return shared


def shares(user) -> QuerySet[SharedChat]:
    return SharedChat.objects.filter(user_id=user.pk).defer("snapshot")


# --- tags -----------------------------------------------------------------------------------------


def tags(user) -> QuerySet[Tag]:
    return Tag.objects.filter(user_id=user.pk).order_by("name")


def tags_of(chat: Chat) -> list[Tag]:
    ids = (chat.meta or {}).get("tags") or []
    return list(Tag.objects.filter(user_id=chat.user_id, tag_id__in=ids).order_by("name")) if ids else []


# --- folders --------------------------------------------------------------------------------------


def folders(user) -> QuerySet[Folder]:
    return Folder.objects.filter(access.visible(user, access.FOLDER))


def folder(user, folder_id) -> Folder:
    found = folders(user).filter(id=as_uuid(folder_id)).first() if as_uuid(folder_id) else None
    if found is None:
        raise ApplicationError(404, NOT_FOUND)
    return found


def subtree_ids(user, root: Folder) -> list[uuid.UUID]:
    """The folder and all its descendants (one query: the user's folders, walked in memory)."""
    children: dict = {}
    for fid, parent in folders(user).values_list("id", "parent_id"):
        children.setdefault(parent, []).append(fid)
    found, stack = [], [root.id]
    while stack:
        fid = stack.pop()
        if fid in found:
            continue
        found.append(fid)
        stack.extend(children.get(fid, []))
    return found


def unread_counts(user) -> dict[str, int]:
    """Per folder, its unread chats and its subfolders' (Open WebUI's folder badges)."""
    rows = list(folders(user).values_list("id", "parent_id"))
    parent_by_id = dict(rows)
    direct = dict(owned(user).filter(folder__isnull=False, archived=False)
                  .filter(Q(last_read_at__isnull=True) | Q(updated_at__gt=F("last_read_at")))
                  .values_list("folder_id").annotate(n=Count("id")).values_list("folder_id", "n"))
    counts = {str(fid): 0 for fid in parent_by_id}
    for fid, n in direct.items():
        current, seen = fid, set()
        while current and current not in seen:
            seen.add(current)
            if str(current) in counts:
                counts[str(current)] += n
            current = parent_by_id.get(current)
    return counts


def folder_has_chats(user, folder_ids) -> bool:
    return owned(user).filter(folder_id__in=folder_ids).exists()


def name_taken(user, *, parent_id, name: str, exclude=None) -> bool:
    qs = Folder.objects.filter(user_id=user.pk, parent_id=parent_id, name__iexact=name.strip())
    if exclude is not None:
        qs = qs.exclude(id=exclude)
    return qs.exists()
