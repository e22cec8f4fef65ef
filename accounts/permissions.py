"""Who may call what (API.md §0 auth levels): failures are 401 except where the spec says 403."""

from django.conf import settings
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission

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
        if not _user(request).is_verified:
            raise Unauthorized()
        return True


class IsAdmin(BasePermission):
    """Role admin; everyone else gets 401 (not 403), as in Open WebUI."""

    def has_permission(self, request, view):
        if not _user(request).is_admin:
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
    """DECISIONS #1: keys are on for every verified user unless ENABLE_API_KEYS is false."""
    return bool(runtime.get("ENABLE_API_KEYS")) and user.is_verified


def permission_tree(user) -> dict:
    """The permission tree sent with a session (a subset of Open WebUI's, with its key names)."""
    admin = user.is_admin
    return {
        "workspace": {
            "models": admin or settings.USER_PERMISSIONS_WORKSPACE_MODELS_ACCESS,
            "knowledge": admin or settings.USER_PERMISSIONS_WORKSPACE_KNOWLEDGE_ACCESS,
            "prompts": admin,
            "tools": admin,
        },
        "sharing": {
            "models": admin,
            "public_models": admin,
            "knowledge": admin,
            "public_knowledge": admin,
        },
        "chat": {"file_upload": True, "delete": True, "edit": True, "temporary": True},
        "features": {"api_keys": api_keys_allowed_for(user), "web_search": False, "image_generation": False},
    }
