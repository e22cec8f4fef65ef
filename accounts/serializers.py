"""Request parsing and response shapes for /api/v1/auths and /api/v1/users (API.md §1)."""

import json
import re
from datetime import UTC, datetime

from rest_framework import serializers

from accounts.models import ApiKey, User
from accounts.permissions import permission_tree
from config.runtime.serializers import settings_serializer


def ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value else None


class SignupIn(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(trim_whitespace=False)
    profile_image_url = serializers.CharField(required=False, allow_blank=True, default="/user.png")


class SigninIn(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(trim_whitespace=False)


class PasswordUpdateIn(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False)
    new_password = serializers.CharField(trim_whitespace=False)


class ProfileUpdateIn(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    profile_image_url = serializers.CharField(required=False, allow_blank=True)


class UserUpdateIn(serializers.Serializer):
    role = serializers.CharField(required=False)
    name = serializers.CharField(required=False, max_length=255)
    email = serializers.CharField(required=False, max_length=254)
    profile_image_url = serializers.CharField(required=False, allow_blank=True)
    password = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


MAX_EXPIRES_AT = 32_503_680_000  # 3000-01-01: later dates overflow Python's datetime on the way


class ApiKeyIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=MAX_EXPIRES_AT)
    expires_in = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_EXPIRES_AT // 2,
                                          help_text="seconds")
    allowed_paths = serializers.ListField(child=serializers.RegexField(r"^/\S*$"), required=False)

    def validate(self, data):
        expires_at = data.get("expires_at")
        if data.get("expires_in"):
            expires_at = int(datetime.now(UTC).timestamp()) + data["expires_in"]
        data["expires_at"] = datetime.fromtimestamp(expires_at, UTC) if expires_at else None
        if data["expires_at"] and data["expires_at"] <= datetime.now(UTC):
            raise serializers.ValidationError({"expires_at": "must be in the future"})
        return data


ADMIN_CONFIG_KEYS = (
    "SHOW_ADMIN_DETAILS",
    "ADMIN_EMAIL",
    "WEBUI_URL",
    "ENABLE_SIGNUP",
    "ENABLE_LOGIN_FORM",
    "ENABLE_API_KEYS",
    "ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS",
    "API_KEYS_ALLOWED_ENDPOINTS",
    "DEFAULT_USER_ROLE",
    "JWT_EXPIRES_IN",
    "PENDING_USER_OVERLAY_TITLE",
    "PENDING_USER_OVERLAY_CONTENT",
)
AdminConfigIn = settings_serializer("AdminConfigIn", ADMIN_CONFIG_KEYS)


def session_out(user: User, token: str, expires_at: int | None, *, stored_image: bool = False) -> dict:
    """The session response of sign-up, sign-in and GET /auths/."""
    data = {
        "token": token,
        "token_type": "Bearer",
        "expires_at": expires_at,
        "id": str(user.id),
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "profile_image_url": user.profile_image_url if stored_image else f"/api/v1/users/{user.id}/profile/image",
        "permissions": permission_tree(user),
    }
    if stored_image:
        data.update(bio=None, gender=None, date_of_birth=None, status_emoji=None, status_message=None, status_expires_at=None)
    return data


def user_out(user: User, *, group_ids: list[str] | None = None) -> dict:
    data = {
        "id": str(user.id),
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "profile_image_url": user.profile_image_url,
        "timezone": user.timezone or None,
        "last_active_at": ts(user.last_active_at) or ts(user.created_at),
        "updated_at": ts(user.updated_at),
        "created_at": ts(user.created_at),
    }
    if group_ids is not None:
        data["group_ids"] = group_ids
    return data


def api_key_out(key: ApiKey, plaintext: str | None = None) -> dict:
    return {
        "id": str(key.id),
        "name": key.name,
        "api_key": plaintext or key.display,
        "is_default": key.is_default,
        "allowed_paths": key.allowed_paths,
        "created_at": ts(key.created_at),
        "last_used_at": ts(key.last_used_at),
        "expires_at": ts(key.expires_at),
    }


class AddUserIn(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(trim_whitespace=False)
    role = serializers.CharField(required=False, default="pending")
    profile_image_url = serializers.CharField(required=False, allow_blank=True, default="/user.png")


class TimezoneIn(serializers.Serializer):
    timezone = serializers.CharField(max_length=64, allow_blank=True)


class JsonObjectIn(serializers.Serializer):
    """A free-form JSON object, kept whole (Open WebUI's user info is one)."""

    def to_internal_value(self, data):
        return dict(data)


class UserSettingsIn(JsonObjectIn):
    """Open WebUI's UserSettings: any keys; `ui`, when sent, an object (its null values remove keys)."""

    def validate(self, data):
        if data.get("ui") is not None and not isinstance(data["ui"], dict):
            raise serializers.ValidationError({"ui": "must be an object"})
        return data


class GroupIn(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    permissions = serializers.DictField(required=False, allow_null=True)
    data = serializers.DictField(required=False, allow_null=True)
    parent_group_id = serializers.CharField(required=False, allow_null=True)


class GroupUpdateIn(GroupIn):
    name = serializers.CharField(max_length=255, required=False)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True)


class UserIdsIn(serializers.Serializer):
    user_ids = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)


def group_out(group, *, member_count: int | None = None, user_ids: list[str] | None = None) -> dict:
    """Open WebUI's GroupResponse (and GroupExportResponse with `user_ids`)."""
    data = {
        "parent_group_id": None,
        "id": str(group.id),
        "user_id": str(group.user_id) if group.user_id else "",
        "name": group.name,
        "description": group.description,
        "data": group.data,
        "meta": group.meta,
        "permissions": group.permissions or {},
        "created_at": ts(group.created_at),
        "updated_at": ts(group.updated_at),
        "member_count": member_count if member_count is not None else getattr(group, "member_count", None),
    }
    if user_ids is not None:
        data["user_ids"] = user_ids
    return data


def group_info_out(group) -> dict:
    """Open WebUI's GroupInfoResponse: what any member may see of a group."""
    full = group_out(group)
    return {k: full[k] for k in ("parent_group_id", "id", "user_id", "name", "description", "member_count",
                                 "created_at", "updated_at")}


ACTIVE_SECONDS = 180  # Open WebUI: active when seen within the last 3 minutes


def is_active(user: User) -> bool:
    return bool(user.last_active_at) and (datetime.now(UTC) - user.last_active_at).total_seconds() <= ACTIVE_SECONDS


def user_info_out(user: User, groups=None) -> dict:
    """Open WebUI's UserInfoResponse."""
    return {
        "id": str(user.id), "name": user.name, "email": user.email, "role": user.role, "bio": None,
        "last_active_at": ts(user.last_active_at) or ts(user.created_at), "timezone": user.timezone or None,
        "groups": [{"id": str(g.id), "name": g.name} for g in groups or []], "is_active": is_active(user),
        **user_status_out(user),
    }


def user_status_out(user: User) -> dict:
    return {"status_emoji": user.status_emoji or None, "status_message": user.status_message or None,
            "status_expires_at": user.status_expires_at}


class UserStatusIn(serializers.Serializer):
    """Open WebUI's UserStatus: each field optional; a missing or null one clears it."""

    status_emoji = serializers.CharField(max_length=64, required=False, allow_null=True, allow_blank=True, default=None)
    status_message = serializers.CharField(max_length=1000, required=False, allow_null=True, allow_blank=True, default=None)
    status_expires_at = serializers.IntegerField(required=False, allow_null=True, default=None)


# Open WebUI's limits (utils/chat_variables.py).
VARIABLE_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_VARIABLE_LENGTH = 20_000
MAX_VARIABLES_JSON_LENGTH = 100_000


class UserVariablesIn(serializers.Serializer):
    """Open WebUI's UserVariablesForm: `variables`, an object of names to texts."""

    variables = serializers.DictField(child=serializers.CharField(allow_blank=True, trim_whitespace=False,
                                                                  max_length=MAX_VARIABLE_LENGTH),
                                      required=False, default=dict)

    def validate_variables(self, value):
        if len(json.dumps(value, ensure_ascii=False)) > MAX_VARIABLES_JSON_LENGTH:
            raise serializers.ValidationError("User variables are too large.")
        bad = [key for key in value if not VARIABLE_KEY.match(key)]
        if bad:
            raise serializers.ValidationError(f"Invalid user variable key: {bad[0]}")
        sent = self.initial_data.get("variables") or {}  # CharField would take a number as its text
        not_text = [key for key, text in sent.items() if not isinstance(text, str)]
        if not_text:
            raise serializers.ValidationError(f"User variable must be a string: {not_text[0]}")
        return {key: text.replace("\r\n", "\n") for key, text in value.items()}


def added_user_out(user: User, token: str) -> dict:
    """POST /auths/add: Open WebUI's AddUserResponse (a session token for the new user)."""
    return {"token": token, "token_type": "Bearer", "id": str(user.id), "email": user.email, "name": user.name,
            "role": user.role, "profile_image_url": f"/api/v1/users/{user.id}/profile/image"}
