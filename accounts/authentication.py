"""Bearer authentication for every entry point: DRF views, plain async views and WebSockets.

A credential comes from `Authorization: Bearer`, the `token` cookie or CUSTOM_API_KEY_HEADER
(API.md §1.1). `sk-...` is an API key; anything else is a JWT session.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Exists
from rest_framework.authentication import BaseAuthentication
from rest_framework_simplejwt.exceptions import TokenError

from accounts import access, api_keys, caller
from accounts.models import ApiKey, RevokedToken, User
from accounts.permissions import Forbidden, Unauthorized
from accounts.tokens import SessionToken
from config import runtime
from config.common import requestlog
from config.common.db import db_call
from config.common.ttl_cache import MISSING, TTLCache

SESSION_EXPIRED = "Your session has expired or the token is invalid. Please sign in again."
KEYS_DISABLED = "Use of API key is not enabled in the environment."


@dataclass(frozen=True)
class AuthInfo:
    kind: str  # "jwt" or "api_key"
    token: str
    claims: dict | None = None
    api_key: ApiKey | None = None


def credential_from(headers, cookies) -> str | None:
    """The raw token of a request, or None. `headers` is case-insensitive (Django's)."""
    auth = headers.get("Authorization", "")
    if auth[:7].lower() == "bearer " and auth[7:].strip():
        return auth[7:].strip()
    if cookies.get("token"):
        return cookies["token"]
    custom = headers.get(settings.CUSTOM_API_KEY_HEADER)
    return custom.strip() if custom and custom.strip() else None


_credentials = TTLCache()


def forget_credentials() -> None:
    """Drop this process's cached credentials (after a revocation, role change or deletion)."""
    _credentials.clear()


def _session_user(user_id, jti) -> User | None:
    return (
        User.objects.filter(id=user_id)
        .annotate(revoked=Exists(RevokedToken.objects.filter(jti=jti or "")))
        .first()
    )


def _key_row(digest: str) -> ApiKey | None:
    """The key and its user, whose permission tree is read now (and cached with it), so checking
    `features.api_keys` on later requests needs no query."""
    key = ApiKey.objects.select_related("user").filter(key_hash=digest).first()
    if key is not None and not access.is_admin(key.user):
        access.permissions(key.user)
    return key


def _decode(raw: str) -> dict:
    try:
        return SessionToken(raw).payload
    except TokenError:
        raise Unauthorized()


def _check_session(user: User | None, claims: dict, raw: str) -> tuple[User, AuthInfo]:
    if user is None:
        raise Unauthorized(SESSION_EXPIRED)
    if user.revoked:
        raise Unauthorized()
    if claims.get("session_stamp") != user.session_stamp:
        raise Unauthorized("Invalid token")
    return user, AuthInfo(kind="jwt", token=raw, claims=claims)


def _check_key(key: ApiKey | None, path: str, config: dict, raw: str) -> tuple[User, AuthInfo]:
    if key is None:
        raise Unauthorized(SESSION_EXPIRED)
    if key.expires_at and key.expires_at <= datetime.now(UTC):
        raise Unauthorized("API key has expired.")
    if not config["ENABLE_API_KEYS"] or not access.has_permission(key.user, "features.api_keys"):
        raise Forbidden(KEYS_DISABLED)
    if config["ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS"]:
        allowed = [p.strip() for p in config["API_KEYS_ALLOWED_ENDPOINTS"].split(",") if p.strip()]
        if not api_keys.path_allowed(path, allowed):
            raise Forbidden("API key is not allowed to access this endpoint.")
    if key.allowed_paths and not api_keys.path_allowed(path, key.allowed_paths):
        raise Forbidden("API key is not allowed to access this endpoint.")
    return key.user, AuthInfo(kind="api_key", token=raw, api_key=key)


def _due_for_touch(key: ApiKey) -> bool:
    """Use is recorded at most once per interval instead of a write on every request."""
    interval = timedelta(seconds=settings.API_KEY_LAST_USED_INTERVAL)
    return key.last_used_at is None or datetime.now(UTC) - key.last_used_at >= interval


def _touch(key: ApiKey) -> None:
    now = datetime.now(UTC)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    User.objects.filter(pk=key.user_id).update(last_active_at=now)
    key.last_used_at = now  # the cached row too


def authenticate_token(raw: str, path: str) -> tuple[User, AuthInfo]:
    """Resolve a raw credential to its user, or raise a 401/403 API exception."""
    if api_keys.looks_like_key(raw):
        digest = api_keys.digest(raw)
        key = _credentials.get_or_load(("key", digest), lambda: _key_row(digest))
        result = _check_key(key, path, runtime.snapshot(), raw)
        if _due_for_touch(key):
            _touch(key)
        return _noted(result)
    claims = _decode(raw)
    user = _credentials.get_or_load(("jwt", raw), lambda: _session_user(claims.get("id"), claims.get("jti")))
    return _noted(_check_session(user, claims, raw))


async def aauthenticate_token(raw: str, path: str) -> tuple[User, AuthInfo]:
    """The same, without leaving the event loop when everything needed is cached."""
    config = runtime.cached_snapshot()
    if config is not None:
        if api_keys.looks_like_key(raw):
            key = _credentials.peek(("key", api_keys.digest(raw)))
            if key is not MISSING and (key is None or not _due_for_touch(key)):
                return _noted(_check_key(key, path, config, raw))
        else:
            claims = _decode(raw)
            user = _credentials.peek(("jwt", raw))
            if user is not MISSING:
                return _noted(_check_session(user, claims, raw))
    return await db_call(authenticate_token)(raw, path)


def _noted(result: tuple[User, AuthInfo]) -> tuple[User, AuthInfo]:
    """`result`, its user now in the log context and the caller of this request's model calls."""
    requestlog.note_user(result[0].pk)
    caller.note(result[0], result[1].api_key)
    return result


class BearerAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = credential_from(request.headers, request.COOKIES)
        if raw is None:
            return None
        return authenticate_token(raw, request.path_info)

    def authenticate_header(self, request):
        return "Bearer"
