"""The one access policy (API.md §5.1): who may read, write or use which object, which objects of a
kind a user sees, and what it may create and share. Selectors, services, views, the WebSocket
consumer and the admin ask here; no other module looks at roles or at the bypass settings.

- Pending users may do nothing (they may only sign in and wait).
- Owners may do anything with their objects. Others need an `AccessGrant` for the exact permission
  (a `write` grant alone does not give `read`), to them, to a group they are a member of, or to
  everyone (`*`).
- What non-admins may create and share is their permission tree (`permissions`): the admin's
  defaults, plus whatever their groups' permissions grant.
- Admins need no grant while BYPASS_ADMIN_ACCESS_CONTROL is on (the default);
  BYPASS_MODEL_ACCESS_CONTROL lets every verified user use (not read or change) every model.
- Files have no grants: they are their owner's (and the admins').
- Chats are their owner's: a share link's grants (kind CHAT) let others read its snapshot; admins read
  (only read) other users' chats while the runtime setting ENABLE_ADMIN_CHAT_ACCESS is on, whatever
  BYPASS_ADMIN_ACCESS_CONTROL says. Folders are their owner's alone, admins included.
- An API key may be narrower than its user (DECISIONS #21): named models, collections and files
  only, and read-only. Those scopes come from the request's caller (accounts/caller.py) and cut
  every answer below, whoever asks."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Cast

from accounts import caller, permission_tree
from accounts.models import AccessGrant, GroupMember
from accounts.models import Group as GroupRow
from config import runtime

READ, WRITE, USE = "read", "write", "use"

# Principals a grant may name.
USER, GROUP = "user", "group"
PRINCIPAL_TYPES = (USER, GROUP)
EVERYONE = "*"  # principal id of a user grant that reaches every user
MAX_IDS_IN_QUERY = 1000  # more candidates (the whole model list): read the user's grants of the kind instead


@dataclass(frozen=True)
class Rules:
    shareable: bool = True  # may carry grants
    use_bypass: str = ""  # setting that lets every verified user use every object of the kind
    create_permission: str = ""  # permission that lets users (not only admins) create objects of the kind
    share_permission: str = ""  # ... share them with users and groups
    public_share_permission: str = ""  # ... share them with everyone
    admin_bypass: bool = True  # BYPASS_ADMIN_ACCESS_CONTROL applies to the kind
    admin_read_setting: str = ""  # runtime setting that lets admins read (only read) every object of the kind


# Kinds of object (their AccessGrant.resource_type). Their rows have an owner in `user` (nullable).
# CHAT grants are a share link's audience (Open WebUI's resource type "shared_chat", by chat id).
MODEL, KNOWLEDGE, FILE, PROMPT, CHAT, FOLDER = "model", "knowledge", "file", "prompt", "shared_chat", "folder"
KINDS = {
    MODEL: Rules(use_bypass="BYPASS_MODEL_ACCESS_CONTROL", create_permission="workspace.models",
                 share_permission="sharing.models", public_share_permission="sharing.public_models"),
    KNOWLEDGE: Rules(create_permission="workspace.knowledge", share_permission="sharing.knowledge",
                     public_share_permission="sharing.public_knowledge"),
    PROMPT: Rules(create_permission="workspace.prompts", share_permission="sharing.prompts",
                  public_share_permission="sharing.public_prompts"),
    FILE: Rules(shareable=False),
    CHAT: Rules(admin_bypass=False, admin_read_setting="ENABLE_ADMIN_CHAT_ACCESS", share_permission="chat.share",
                public_share_permission="sharing.public_chats"),
    FOLDER: Rules(shareable=False, admin_bypass=False),
}


# --- roles ----------------------------------------------------------------------------------------


def is_verified(user) -> bool:
    """May use the gateway at all: role user or admin."""
    return bool(getattr(user, "is_verified", False))


def is_admin(user) -> bool:
    """Manages the gateway: users, connections, settings, provider models."""
    return bool(getattr(user, "is_admin", False))


# --- API key scopes -------------------------------------------------------------------------------

_SCOPE_FIELDS = {MODEL: "allowed_models", KNOWLEDGE: "allowed_collections", FILE: "allowed_files"}


def _key_scope(kind: str, permission: str) -> set[str] | None:
    """The ids of `kind` the request's API key is limited to (empty: none at all), or None when it
    is not limited (no key, or a key without that scope)."""
    current = caller.current()
    key = current.key if current is not None else None
    if key is None:
        return None
    if permission == WRITE and kind != MODEL and key.read_only:
        return set()
    field = _SCOPE_FIELDS.get(kind)  # prompts, chats and folders have no id scope on keys
    allowed = getattr(key, field) if field else None
    return {str(i) for i in allowed} if allowed else None


def key_allows(kind: str, object_id, permission: str = USE) -> bool:
    """Whether the request's API key (if any) may reach object `object_id` of `kind` at all."""
    scope = _key_scope(kind, permission)
    return scope is None or str(object_id) in scope


def _scoped(q: Q, kind: str, permission: str) -> Q:
    scope = _key_scope(kind, permission)
    if scope is None:
        return q
    ids = scope if kind == MODEL else [i for i in scope if _is_uuid(i)]
    return q & Q(pk__in=ids)


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --- objects --------------------------------------------------------------------------------------


def sees_all(user, kind: str, permission: str = READ) -> bool:
    """Whether a bypass lets `user` `permission` every object of `kind`, grants aside."""
    if not is_verified(user):
        return False
    rules = KINDS[kind]
    if is_admin(user) and rules.admin_bypass and settings.BYPASS_ADMIN_ACCESS_CONTROL:
        return True
    if is_admin(user) and permission == READ and rules.admin_read_setting and runtime.get(rules.admin_read_setting):
        return True
    bypass = rules.use_bypass
    return permission == USE and bool(bypass) and bool(getattr(settings, bypass))


def _group_ids(user) -> QuerySet:
    """The ids (as text, as grants hold them) of `user`'s groups: a subquery, not a query of its own."""
    return GroupMember.objects.filter(user_id=user.pk).annotate(gid=Cast("group_id", CharField())).values("gid")


def _reaching(user) -> Q:
    """The grants that reach `user`, as a filter on AccessGrant."""
    return (Q(principal_type=USER, principal_id__in=[str(user.pk), EVERYONE])
            | Q(principal_type=GROUP, principal_id__in=_group_ids(user)))


def _grants(user, kind: str, permission: str) -> QuerySet[AccessGrant]:
    needed = READ if permission == USE else permission
    return AccessGrant.objects.filter(_reaching(user), resource_type=kind, permission=needed)


def visible(user, kind: str, permission: str = READ) -> Q:
    """The objects of `kind` that `user` (with the request's API key) may `permission`, as a filter
    on the kind's queryset."""
    return _scoped(_visible(user, kind, permission), kind, permission)


def _visible(user, kind: str, permission: str) -> Q:
    if sees_all(user, kind, permission):
        return Q()
    if not is_verified(user):
        return Q(pk__in=[])
    mine = Q(user_id=user.pk)
    if not KINDS[kind].shareable:
        return mine
    return mine | Exists(_grants(user, kind, permission).filter(resource_id=Cast(OuterRef("pk"), CharField())))


def permitted_ids(user, kind: str, permission: str, objects) -> set[str]:
    """The ids (as strings) of those `objects` (rows of `kind`) that `user` (with the request's API
    key) may `permission`: at most one query."""
    ids = _permitted_ids(user, kind, permission, objects)
    scope = _key_scope(kind, permission)
    return ids if scope is None else ids & scope


def _permitted_ids(user, kind: str, permission: str, objects) -> set[str]:
    objects = list(objects)
    if sees_all(user, kind, permission):
        return {str(o.pk) for o in objects}
    if not is_verified(user):
        return set()
    ids = {str(o.pk) for o in objects if o.user_id is not None and o.user_id == user.pk}
    others = {str(o.pk) for o in objects} - ids
    if others and KINDS[kind].shareable:
        granted = _grants(user, kind, permission)
        if len(others) <= MAX_IDS_IN_QUERY:
            granted = granted.filter(resource_id__in=others)
        ids |= others.intersection(granted.values_list("resource_id", flat=True))
    return ids


def can_read(user, kind: str, obj) -> bool:
    return str(obj.pk) in permitted_ids(user, kind, READ, [obj])


def can_write(user, kind: str, obj) -> bool:
    return str(obj.pk) in permitted_ids(user, kind, WRITE, [obj])


def can_use(user, kind: str, obj) -> bool:
    """Chat with a model, search a collection or file: read, or a kind's use bypass."""
    return str(obj.pk) in permitted_ids(user, kind, USE, [obj])


# --- permissions, creating and sharing -----------------------------------------------------------


def permissions(user) -> dict:
    """`user`'s permission tree: the admin's defaults, plus what its groups grant. One query, once
    per user object (a request's user, or the cached credential's for STATE_CACHE_SECONDS)."""
    tree = vars(user).get("_permission_tree")
    if tree is None:
        tree = permission_tree.fill(runtime.get("USER_PERMISSIONS"))
        if user.pk is not None:
            for granted in GroupRow.objects.filter(memberships__user_id=user.pk).values_list("permissions", flat=True):
                permission_tree.combine(tree, granted)
        vars(user)["_permission_tree"] = tree
    return tree


def has_permission(user, key: str) -> bool:
    """Whether `user` may do what permission `key` (`section.name`, e.g. "features.api_keys") names:
    admins always, pending users never, users as their permission tree says."""
    if is_admin(user):
        return True
    return is_verified(user) and permission_tree.lookup(permissions(user), key)


def can_create(user, kind: str) -> bool:
    """Workspace permission (e.g. `workspace.knowledge`) for objects of `kind`."""
    key = KINDS[kind].create_permission
    return is_admin(user) or bool(key and has_permission(user, key))


def can_share(user, kind: str, *, public: bool = False) -> bool:
    """Whether `user` may grant access to objects of `kind` it can write (`public`: to everyone):
    the kind's `sharing.*` permissions, as in Open WebUI (admins always)."""
    rules = KINDS[kind]
    if is_admin(user):
        return rules.shareable
    keys = [rules.share_permission] + ([rules.public_share_permission] if public else [])
    return rules.shareable and all(key and has_permission(user, key) for key in keys)


def allowed_grants(user, kind: str, requested: list[dict]) -> list[dict]:
    """Those of `requested` (parsed access grants) that `user` may give: sharing with everyone needs
    the kind's public permission; with users or groups, `access_grants.allow_users|allow_groups`."""
    if is_admin(user) or not requested:
        return list(requested) if can_share(user, kind) else []
    if not can_share(user, kind):
        return []

    def may(grant: dict) -> bool:
        if grant["principal_type"] == USER and grant["principal_id"] == EVERYONE:
            return can_share(user, kind, public=True)
        return has_permission(user, f"access_grants.allow_{grant['principal_type']}s")

    return [g for g in requested if may(g)]


def can_delete_chat(user, chat) -> bool:
    """The owner, with the chat.delete permission; an admin while ENABLE_ADMIN_CHAT_ACCESS is on."""
    if chat.user_id == user.pk:
        return has_permission(user, "chat.delete")
    return is_admin(user) and bool(runtime.get("ENABLE_ADMIN_CHAT_ACCESS"))


def may_export_all_chats(user) -> bool:
    """GET /chats/all/db: every user's chats, for admins while ENABLE_ADMIN_EXPORT is on."""
    return is_admin(user) and bool(runtime.get("ENABLE_ADMIN_EXPORT"))
