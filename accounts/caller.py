"""Who is calling, for the usage ledger, the limits and the API key's resource scopes: one `Caller`
per HTTP request or WebSocket message, in a ContextVar (copied into sync_to_async threads and tasks,
so the provider layer, deep below the views, meters every model call without being passed it).
Authentication fills it (`note`); the middleware starts a fresh one per request and puts the
`x-ratelimit-*` headers that admission left on it onto the response."""

import contextvars
from dataclasses import dataclass, field

from accounts.models import ApiKey
from config.common.middleware import AsyncMiddleware


@dataclass(slots=True)
class Caller:
    user_id: str | None = None
    role: str | None = None
    key: ApiKey | None = None
    headers: dict[str, str] = field(default_factory=dict)  # x-ratelimit-* for this request's response
    rules: object = None  # the limits and prices this request's calls were checked against (read once per request)

    @property
    def key_id(self) -> str | None:
        return str(self.key.pk) if self.key is not None else None


_current: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("caller", default=None)


def begin() -> Caller:
    caller = Caller()
    _current.set(caller)
    return caller


def current() -> Caller | None:
    return _current.get()


def note(user, key: ApiKey | None) -> None:
    """The authenticated user (and the API key it came with) of this request."""
    caller = _current.get()
    if caller is None:  # outside a request (a management command, the worker): a context of its own
        caller = begin()
    caller.user_id, caller.role, caller.key = str(user.pk), user.role, key


def acting_as(user_id, role: str | None = None) -> Caller:
    """Background work done for a user (ingestion embeds a file for its owner): the ledger rows are
    theirs."""
    caller = begin()
    caller.user_id, caller.role = (str(user_id) if user_id else None), role
    return caller


class RateLimitHeadersMiddleware(AsyncMiddleware):
    """A fresh Caller per request, and the rate limit headers admission set on it on the response
    (every response of a limited caller; a 429 carries them already)."""

    async def __call__(self, request):
        caller = begin()
        response = await self.get_response(request)
        for name, value in caller.headers.items():
            response.headers.setdefault(name, value)
        return response
