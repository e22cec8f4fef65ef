"""Who may call what (API.md §0 auth levels): failures are 401 except where the spec says 403."""

from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission

from accounts import access
from config import runtime


class Unauthorized(APIException):
    status_code = 401
    default_detail = "401 Unauthorized"


class NotAuthenticated(APIException):
    status_code = 401
    default_detail = "Not authenticated"


class Forbidden(APIException):
    status_code = 403
    default_detail = "You do not have permission to access this resource."


def _user(request):
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()
    return user


class AnyRole(BasePermission):
    """Any valid token, pending users included."""

    def has_permission(self, request, view):
        _user(request)
        return True


class IsVerifiedUser(BasePermission):
    """Role user or admin; pending users get 401."""

    def has_permission(self, request, view):
        if not access.is_verified(_user(request)):
            raise Unauthorized()
        return True


class IsAdmin(BasePermission):
    """Role admin; everyone else gets 401 (not 403), as in Open WebUI."""

    def has_permission(self, request, view):
        if not access.is_admin(_user(request)):
            raise Unauthorized()
        return True


class HumanSession(BasePermission):
    """A JWT session; API keys are refused with 403."""

    def has_permission(self, request, view):
        _user(request)
        if request.auth is None or request.auth.kind != "jwt":
            raise Forbidden("A human session is required.")
        return True


def api_keys_allowed_for(user) -> bool:
    """Runtime ENABLE_API_KEYS, then the `features.api_keys` permission (on by default: DECISIONS #1)."""
    return bool(runtime.get("ENABLE_API_KEYS")) and access.has_permission(user, "features.api_keys")


def permission_tree(user) -> dict:
    """The permission tree sent with a session and by GET /users/permissions (Open WebUI's): the
    user's own; an admin may create and share anything, so those sections are on."""
    tree = {section: dict(flags) for section, flags in access.permissions(user).items()}
    if access.is_admin(user):
        for section in ("workspace", "sharing", "access_grants"):
            tree[section] = dict.fromkeys(tree[section], True)
    tree["features"]["api_keys"] = api_keys_allowed_for(user)
    return tree
