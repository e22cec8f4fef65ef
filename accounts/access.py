"""The one access policy (API.md §5.1): who may read, write or use which object, which objects of a
kind a user sees, and what it may create and share. Selectors, services, views, the WebSocket
consumer and the admin ask here; no other module looks at roles or at the bypass settings.

- Pending users may do nothing (they may only sign in and wait).
- Owners may do anything with their objects. Others need an `AccessGrant` for the exact permission
  (a `write` grant alone does not give `read`), to them or to everyone (`*`).
- Admins need no grant while BYPASS_ADMIN_ACCESS_CONTROL is on (the default);
  BYPASS_MODEL_ACCESS_CONTROL lets every verified user use (not read or change) every model.
- Files have no grants: they are their owner's (and the admins').
- Chats are their owner's: a share link's grants (kind CHAT) let others read its snapshot; admins read
  (only read) other users' chats while the runtime setting ENABLE_ADMIN_CHAT_ACCESS is on, whatever
  BYPASS_ADMIN_ACCESS_CONTROL says. Folders are their owner's alone, admins included."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Cast

from accounts.models import AccessGrant
from config import runtime

READ, WRITE, USE = "read", "write", "use"

# Principals a grant may name. Groups join by adding "group" here and their ids in `_reaching`.
USER = "user"
PRINCIPAL_TYPES = (USER,)
EVERYONE = "*"  # principal id of a user grant that reaches every user
MAX_IDS_IN_QUERY = 1000  # more candidates (the whole model list): read the user's grants of the kind instead


@dataclass(frozen=True)
class Rules:
    shareable: bool = True  # may carry grants
    use_bypass: str = ""  # setting that lets every verified user use every object of the kind
    create_setting: str = ""  # setting that lets users (not only admins) create objects of the kind
    admin_bypass: bool = True  # BYPASS_ADMIN_ACCESS_CONTROL applies to the kind
    admin_read_setting: str = ""  # runtime setting that lets admins read (only read) every object of the kind
    share_permission: str = ""  # feature permission that lets owners share with named users (not everyone)


# Kinds of object (their AccessGrant.resource_type). Their rows have an owner in `user` (nullable).
# CHAT grants are a share link's audience (Open WebUI's resource type "shared_chat", by chat id).
MODEL, KNOWLEDGE, FILE, PROMPT, CHAT, FOLDER = "model", "knowledge", "file", "prompt", "shared_chat", "folder"
KINDS = {
    MODEL: Rules(use_bypass="BYPASS_MODEL_ACCESS_CONTROL", create_setting="USER_PERMISSIONS_WORKSPACE_MODELS_ACCESS"),
    KNOWLEDGE: Rules(create_setting="USER_PERMISSIONS_WORKSPACE_KNOWLEDGE_ACCESS"),
    PROMPT: Rules(create_setting="USER_PERMISSIONS_WORKSPACE_PROMPTS_ACCESS"),
    FILE: Rules(shareable=False),
    CHAT: Rules(admin_bypass=False, admin_read_setting="ENABLE_ADMIN_CHAT_ACCESS", share_permission="chat.share"),
    FOLDER: Rules(shareable=False, admin_bypass=False),
}


# --- roles ----------------------------------------------------------------------------------------


def is_verified(user) -> bool:
    """May use the gateway at all: role user or admin."""
    return bool(getattr(user, "is_verified", False))


def is_admin(user) -> bool:
    """Manages the gateway: users, connections, settings, provider models."""
    return bool(getattr(user, "is_admin", False))


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


def _reaching(user) -> Q:
    """The grants that reach `user`, as a filter on AccessGrant."""
    return Q(principal_type=USER, principal_id__in=[str(user.pk), EVERYONE])


def _grants(user, kind: str, permission: str) -> QuerySet[AccessGrant]:
    needed = READ if permission == USE else permission
    return AccessGrant.objects.filter(_reaching(user), resource_type=kind, permission=needed)


def visible(user, kind: str, permission: str = READ) -> Q:
    """The objects of `kind` that `user` may `permission`, as a filter on the kind's queryset."""
    if sees_all(user, kind, permission):
        return Q()
    if not is_verified(user):
        return Q(pk__in=[])
    mine = Q(user_id=user.pk)
    if not KINDS[kind].shareable:
        return mine
    return mine | Exists(_grants(user, kind, permission).filter(resource_id=Cast(OuterRef("pk"), CharField())))


def permitted_ids(user, kind: str, permission: str, objects) -> set[str]:
    """The ids (as strings) of those `objects` (rows of `kind`) that `user` may `permission`: at most one query."""
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


# --- creating and sharing -------------------------------------------------------------------------


def can_create(user, kind: str) -> bool:
    """Workspace permission, as the session's permission tree reports it (Open WebUI's: by role and
    setting only; pending users are stopped before any endpoint)."""
    setting = KINDS[kind].create_setting
    return is_admin(user) or bool(setting and getattr(settings, setting))


def can_share(user, kind: str, *, public: bool = False) -> bool:
    """Whether `user` may grant access to objects of `kind` it can write (`public`: to everyone).
    Only admins, for either, as Open WebUI's default `sharing.*` permissions say, except that a kind's
    share permission lets users share their own with named users (Open WebUI's shared chats)."""
    permission = KINDS[kind].share_permission
    if permission and not public and has_permission(user, permission):
        return True
    return is_admin(user)


def allowed_grants(user, kind: str, requested: list[dict]) -> list[dict]:
    """Those of `requested` (parsed access grants) that `user` may give."""
    return [g for g in requested if can_share(user, kind, public=g["principal_id"] == EVERYONE)]


# --- features -------------------------------------------------------------------------------------

# Open WebUI's default user permissions for what this gateway enforces (`user.permissions` in its config).
DEFAULT_PERMISSIONS = {"chat.delete": True, "chat.share": True, "chat.import": True, "chat.export": True}


def has_permission(user, key: str) -> bool:
    """Whether `user` has the feature permission `key` of Open WebUI's permission tree ("chat.delete"):
    admins always; verified users by the defaults (group permissions join here)."""
    if is_admin(user):
        return True
    return is_verified(user) and DEFAULT_PERMISSIONS.get(key, False)


def can_delete_chat(user, chat) -> bool:
    """The owner, with the chat.delete permission; an admin while ENABLE_ADMIN_CHAT_ACCESS is on."""
    if chat.user_id == user.pk:
        return has_permission(user, "chat.delete")
    return is_admin(user) and bool(runtime.get("ENABLE_ADMIN_CHAT_ACCESS"))


def may_export_all_chats(user) -> bool:
    """GET /chats/all/db: every user's chats, for admins while ENABLE_ADMIN_EXPORT is on."""
    return is_admin(user) and bool(runtime.get("ENABLE_ADMIN_EXPORT"))
