"""Writes for users and sessions."""

import hashlib
import logging
import re
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from rest_framework.exceptions import APIException, ValidationError

from accounts import profile_image
from accounts.authentication import forget_credentials
from accounts.models import RevokedToken, Role, User, new_stamp
from accounts.permissions import Forbidden
from config import runtime

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SIGNUP_LOCK = 7_201_001  # advisory lock id: serialises "is this the first user?"
logger = logging.getLogger(__name__)


class TooManyAttempts(APIException):
    status_code = 429
    default_detail = "API rate limit exceeded"


def _check_password(password: str) -> None:
    if not password:
        raise ValidationError("Password must not be empty.")
    if len(password.encode()) > 72:
        raise ValidationError("Password is too long (72 bytes at most).")


@transaction.atomic
def signup(*, name: str, email: str, password: str, profile_image_url: str = profile_image.DEFAULT) -> User:
    """Self-signup (API.md §1.5). The first user becomes admin and closes signup."""
    email = email.strip().lower()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SIGNUP_LOCK])
    first = not User.objects.exists()
    if not first and not (runtime.get("ENABLE_SIGNUP") and runtime.get("ENABLE_LOGIN_FORM")):
        raise Forbidden("You do not have permission to access this resource. Please contact your administrator.")
    if first and not runtime.get("ENABLE_LOGIN_FORM") and not settings.ENABLE_INITIAL_ADMIN_SIGNUP:
        raise Forbidden("You do not have permission to access this resource. Please contact your administrator.")
    if not EMAIL_RE.match(email):
        raise ValidationError("Invalid email format.")
    if User.objects.filter(email=email).exists():
        raise ValidationError("Uh-oh! This email is already registered. Sign in with your existing account or choose another email to start anew.")
    _check_password(password)
    image = profile_image.check(profile_image_url)
    role = Role.ADMIN if first else runtime.get("DEFAULT_USER_ROLE")
    user = User.objects.create_user(email, password, name=name.strip(), role=role, profile_image_url=image)
    if first:
        runtime.update({"ENABLE_SIGNUP": False})
    return user


@transaction.atomic
def add_user(*, actor: User, name: str, email: str, password: str, role: str = "pending",
             profile_image_url: str = profile_image.DEFAULT) -> User:
    """An admin creates a user with a role (POST /auths/add), whatever the signup settings."""
    email = email.strip().lower()
    if role not in Role.values:
        raise ValidationError(f"Invalid role: {role!r}")
    if not EMAIL_RE.match(email):
        raise ValidationError("Invalid email format.")
    if User.objects.filter(email=email).exists():
        raise ValidationError("Uh-oh! This email is already registered. Sign in with your existing account or choose another email to start anew.")
    _check_password(password)
    image = profile_image.check(profile_image_url)
    return User.objects.create_user(email, password, name=name.strip(), role=role, profile_image_url=image)


def update_settings(*, user: User, data: dict) -> User:
    """Open WebUI's settings patch: top-level keys replace, `ui` keys merge (null removes one)."""
    settings_ = dict(user.settings or {})
    data = dict(data)
    ui = data.pop("ui", None)
    settings_.update(data)
    if isinstance(ui, dict):
        merged = dict(settings_.get("ui") or {})
        for key, value in ui.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        settings_["ui"] = merged
    user.settings = settings_
    user.save(update_fields=["settings", "updated_at"])
    return user


def update_info(*, user: User, data: dict) -> User:
    """Merge `data` into the user's free-form info."""
    user.info = {**(user.info or {}), **data}
    user.save(update_fields=["info", "updated_at"])
    return user


def update_status(*, user: User, status_emoji: str | None, status_message: str | None,
                  status_expires_at: int | None) -> User:
    user.status_emoji, user.status_message = status_emoji or "", status_message or ""
    user.status_expires_at = status_expires_at
    user.save(update_fields=["status_emoji", "status_message", "status_expires_at", "updated_at"])
    return user


def update_variables(*, user: User, variables: dict[str, str]) -> User:
    """Replaces the user's prompt variables."""
    user.variables = variables
    user.save(update_fields=["variables", "updated_at"])
    return user


def update_timezone(*, user: User, timezone: str) -> User:
    user.timezone = timezone
    user.save(update_fields=["timezone", "updated_at"])
    return user


def _failure_keys(email: str, address: str) -> tuple[str, str]:
    """Cache keys counting failed sign-ins per (email, address) and per address."""
    digest = hashlib.sha256(email.encode()).hexdigest()[:32]
    return f"signin-failures:{digest}:{address}", f"signin-failures:*:{address}"


def _count_failure(key: str) -> int:
    """Count one failure; a count lives SIGNIN_RATE_WINDOW seconds from its first failure."""
    window = settings.SIGNIN_RATE_WINDOW
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def signin(*, email: str, password: str, address: str = "") -> User:
    """Failures are counted per (email, client address) and per address, so a stranger failing on
    someone's email locks out only the stranger's address, never the owner signing in elsewhere."""
    if not settings.ENABLE_PASSWORD_AUTH:
        raise Forbidden("Password sign-in is disabled.")
    email = email.strip().lower()
    pair_key, address_key = _failure_keys(email, address)
    if (cache.get(pair_key, 0) >= settings.SIGNIN_RATE_LIMIT
            or cache.get(address_key, 0) >= settings.SIGNIN_ADDRESS_RATE_LIMIT):
        raise TooManyAttempts()
    user = User.objects.filter(email=email).first()
    if user is None or not user.check_password(password):
        pair, per_address = _count_failure(pair_key), _count_failure(address_key)
        if pair == settings.SIGNIN_RATE_LIMIT or per_address == settings.SIGNIN_ADDRESS_RATE_LIMIT:
            logger.warning("Sign-in locked out for %s from %s: %d failures for this email, %d from this address "
                           "(for up to %d s)", email, address or "?", pair, per_address, settings.SIGNIN_RATE_WINDOW)
        raise ValidationError("The email or password provided is incorrect. Please check for typos and try logging in again.")
    cache.delete(pair_key)
    return user


def signout(*, jti: str, exp: int) -> None:
    now = datetime.now(UTC)
    RevokedToken.objects.filter(expires_at__lt=now).delete()
    RevokedToken.objects.get_or_create(jti=jti, defaults={"expires_at": datetime.fromtimestamp(exp, UTC)})
    forget_credentials()


def change_password(*, user: User, password: str, new_password: str) -> User:
    """Changing the password rotates the session stamp: every JWT of the user dies (API keys live)."""
    if not user.check_password(password):
        raise ValidationError("Incorrect password.")
    _check_password(new_password)
    user.set_password(new_password)
    user.save(update_fields=["password", "session_stamp", "updated_at"])
    forget_credentials()
    return user


def revoke_sessions(*, user: User) -> None:
    user.session_stamp = new_stamp()
    user.save(update_fields=["session_stamp", "updated_at"])
    forget_credentials()


def update_user(*, actor: User, user: User, data: dict) -> User:
    """Admin update (approve pending users, change role, name, email, password)."""
    if "role" in data:
        if data["role"] not in Role.values:
            raise ValidationError(f"Invalid role: {data['role']!r}")
        primary = User.objects.order_by("created_at").only("id").first()
        if user.pk == primary.pk and data["role"] != Role.ADMIN:
            raise Forbidden("The primary admin's role cannot be changed.")
        user.role = data["role"]
    if "name" in data:
        user.name = str(data["name"]).strip()
    if "email" in data:
        email = str(data["email"]).strip().lower()
        if not EMAIL_RE.match(email):
            raise ValidationError("Invalid email format.")
        if User.objects.filter(email=email).exclude(pk=user.pk).exists():
            raise ValidationError("This email is already taken.")
        user.email = email
    if "profile_image_url" in data:
        user.profile_image_url = profile_image.check(data["profile_image_url"])
    if data.get("password"):
        _check_password(data["password"])
        user.set_password(data["password"])
    user.save()
    forget_credentials()
    return user


def delete_user(*, actor: User, user: User) -> None:
    if user.pk == actor.pk:
        raise Forbidden("You cannot delete yourself.")
    primary = User.objects.order_by("created_at").only("id").first()
    if user.pk == primary.pk:
        raise Forbidden("The primary admin cannot be deleted.")
    user.delete()
    forget_credentials()


def set_default_permissions(*, tree: dict) -> None:
    """The admin's default permission tree (runtime USER_PERMISSIONS)."""
    runtime.update({"USER_PERMISSIONS": tree})
    forget_credentials()


def bootstrap_admin() -> User | None:
    """WEBUI_ADMIN_EMAIL/WEBUI_ADMIN_PASSWORD create the first admin when no user exists."""
    if not (settings.WEBUI_ADMIN_EMAIL and settings.WEBUI_ADMIN_PASSWORD) or User.objects.exists():
        return None
    user = User.objects.create_superuser(settings.WEBUI_ADMIN_EMAIL, settings.WEBUI_ADMIN_PASSWORD, name=settings.WEBUI_ADMIN_NAME)
    runtime.update({"ENABLE_SIGNUP": False})
    return user
