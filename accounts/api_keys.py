"""API keys: `sk-` + 32 hex characters, stored as a SHA-256 digest (the keys are random, so a fast
hash is as strong as a slow one and keeps authentication to one indexed lookup)."""

import hashlib
import secrets
from datetime import datetime

from django.db import transaction

from accounts.models import ApiKey, User

PREFIX = "sk-"


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def looks_like_key(token: str) -> bool:
    return token.startswith(PREFIX)


def create(
    *,
    user: User,
    name: str = "default",
    expires_at: datetime | None = None,
    allowed_paths: list[str] | None = None,
    is_default: bool = False,
    allowed_models: list[str] | None = None,
    allowed_collections: list[str] | None = None,
    allowed_files: list[str] | None = None,
    read_only: bool = False,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its plaintext (which is never stored or shown again). The
    `allowed_*` lists and `read_only` narrow it below its user (empty lists: no narrowing)."""
    key = ApiKey(user=user, name=name, is_default=is_default, expires_at=expires_at, allowed_paths=allowed_paths or [],
                 allowed_models=allowed_models or [], allowed_collections=allowed_collections or [],
                 allowed_files=allowed_files or [], read_only=read_only)
    plaintext = assign_secret(key)
    key.save()
    return key, plaintext


def assign_secret(key: ApiKey) -> str:
    """Give an unsaved key a fresh secret (hash and masked form); return the plaintext."""
    body = secrets.token_hex(16)
    plaintext = f"{PREFIX}{body}"
    key.key_hash = digest(plaintext)
    key.display = f"{PREFIX}{body[:4]}…{body[-4:]}"
    key.allowed_paths = [p.rstrip("/") or "/" for p in key.allowed_paths]
    return plaintext


@transaction.atomic
def rotate_default(*, user: User) -> str:
    """Open WebUI's POST /auths/api_key: replace the user's default key, return the new plaintext."""
    revoke(ApiKey.objects.filter(user=user, is_default=True))
    ApiKey.objects.filter(user=user, name="default").update(name=f"default-{secrets.token_hex(3)}")
    return create(user=user, is_default=True)[1]


def revoke(keys) -> int:
    """Delete keys (a queryset) and forget them in this process at once."""
    from accounts.authentication import forget_credentials

    count, _ = keys.delete()
    forget_credentials()
    return count


def path_allowed(path: str, prefixes: list[str]) -> bool:
    """True when `path` equals one of the prefixes or lies below it (`<prefix>/...`)."""
    path = path.rstrip("/") or "/"
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)
