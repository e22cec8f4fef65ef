"""Bearer authentication for every entry point: DRF views, plain async views and WebSockets.

A credential comes from `Authorization: Bearer`, the `token` cookie or CUSTOM_API_KEY_HEADER
(API.md §1.1). `sk-...` is an API key; anything else is a JWT session.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from rest_framework.authentication import BaseAuthentication
from rest_framework_simplejwt.exceptions import TokenError

from accounts import api_keys
from accounts.models import ApiKey, RevokedToken, User
from accounts.permissions import Forbidden, Unauthorized
from accounts.tokens import SessionToken
from config import runtime
from config.db import db_call

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


def _authenticate_jwt(raw: str) -> tuple[User, AuthInfo]:
    try:
        token = SessionToken(raw)
    except TokenError:
        raise Unauthorized()
    claims = token.payload
    user = (
        User.objects.filter(id=claims.get("id"))
        .annotate(revoked=Exists(RevokedToken.objects.filter(jti=claims.get("jti", ""))))
        .first()
    )
    if user is None:
        raise Unauthorized(SESSION_EXPIRED)
    if user.revoked:
        raise Unauthorized()
    if claims.get("session_stamp") != user.session_stamp:
        raise Unauthorized("Invalid token")
    return user, AuthInfo(kind="jwt", token=raw, claims=claims)


def _authenticate_key(raw: str, path: str) -> tuple[User, AuthInfo]:
    key = ApiKey.objects.select_related("user").filter(key_hash=api_keys.digest(raw)).first()
    if key is None:
        raise Unauthorized(SESSION_EXPIRED)
    now = datetime.now(UTC)
    if key.expires_at and key.expires_at <= now:
        raise Unauthorized("API key has expired.")
    config = runtime.snapshot()
    if not config["ENABLE_API_KEYS"]:
        raise Forbidden(KEYS_DISABLED)
    if config["ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS"]:
        allowed = [p.strip() for p in config["API_KEYS_ALLOWED_ENDPOINTS"].split(",") if p.strip()]
        if not api_keys.path_allowed(path, allowed):
            raise Forbidden("API key is not allowed to access this endpoint.")
    if key.allowed_paths and not api_keys.path_allowed(path, key.allowed_paths):
        raise Forbidden("API key is not allowed to access this endpoint.")
    # Record use at most once per interval instead of writing on every request.
    interval = timedelta(seconds=settings.API_KEY_LAST_USED_INTERVAL)
    if key.last_used_at is None or now - key.last_used_at >= interval:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        User.objects.filter(pk=key.user_id).update(last_active_at=now)
    return key.user, AuthInfo(kind="api_key", token=raw, api_key=key)


def authenticate_token(raw: str, path: str) -> tuple[User, AuthInfo]:
    """Resolve a raw credential to its user, or raise a 401/403 API exception."""
    if api_keys.looks_like_key(raw):
        return _authenticate_key(raw, path)
    return _authenticate_jwt(raw)


aauthenticate_token = db_call(authenticate_token)


class BearerAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = credential_from(request.headers, request.COOKIES)
        if raw is None:
            return None
        return authenticate_token(raw, request.path_info)

    def authenticate_header(self, request):
        return "Bearer"
