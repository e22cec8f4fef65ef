"""JWT sessions (simplejwt), with Open WebUI's claims: id, typ=session, session_stamp, jti."""

import time
from datetime import timedelta

from rest_framework_simplejwt.tokens import Token

from config import runtime

# simplejwt requires an `exp`; a "never expires" session gets a very distant one and reports null.
_FOREVER = timedelta(days=365 * 100)


class SessionToken(Token):
    token_type = "session"
    lifetime = _FOREVER


def issue(user, *, auth_method: str = "password") -> tuple[str, int | None]:
    """A new signed session token for `user` and its expiry (Unix seconds, or None)."""
    seconds = runtime.parse_duration(runtime.get("JWT_EXPIRES_IN"))
    token = SessionToken()
    token.set_exp(lifetime=timedelta(seconds=seconds) if seconds is not None else _FOREVER)
    token["id"] = str(user.id)
    token["auth_method"] = auth_method
    token["auth_time"] = int(time.time())
    token["session_stamp"] = user.session_stamp
    token["mfa_verified"] = False
    expires_at = int(token["exp"]) if seconds is not None else None
    return str(token), expires_at


def expires_at(claims: dict) -> int | None:
    """The expiry to report for decoded claims (None for a "never expires" session)."""
    exp, iat = claims.get("exp"), claims.get("iat", 0)
    return None if exp is None or exp - iat > _FOREVER.total_seconds() / 2 else int(exp)
