"""While the database is unreachable, API requests answer `503` with `Retry-After` at once instead of
each one waiting for the pool's timeout and failing with a 500. The first request to hit the outage
marks it; a background probe (a plain connection, outside the pool) clears it when the database
answers again."""

import asyncio
import logging
import time

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from psycopg_pool import PoolTimeout

from config.common import errors
from config.common.errors import ApplicationError
from config.common.middleware import API_PREFIXES, AsyncMiddleware

log = logging.getLogger("gateway.db")
RETRY_AFTER_SECONDS = 5
PROBE_INTERVAL = 1.0
_EXEMPT = ("/health", "/ready")  # they answer whatever the database does, and say why


class _Outage:
    since: float | None = None
    probe: asyncio.Task | None = None


outage = _Outage()


def is_outage(exc: BaseException) -> bool:
    """A lost or refused connection, not a failing statement (a timeout, a constraint)."""
    if isinstance(exc, PoolTimeout | InterfaceError):
        return True
    if isinstance(exc, OperationalError | psycopg.OperationalError):
        cause = exc.__cause__ if isinstance(exc, OperationalError) else exc
        if isinstance(cause, PoolTimeout):
            return True
        sqlstate = getattr(cause, "sqlstate", None)
        return sqlstate is None or sqlstate.startswith("08") or sqlstate in {"57P01", "57P02", "57P03"}
    return False


UNAVAILABLE = ApplicationError(503, "The database is unavailable; retry shortly.",
                               {"Retry-After": str(RETRY_AFTER_SECONDS)})


def unavailable() -> JsonResponse:
    return errors.json_response(UNAVAILABLE)


def database_down() -> bool:
    return outage.since is not None


def _mark_down() -> None:
    if outage.since is None:
        outage.since = time.monotonic()
        log.error("Database unreachable: answering 503 until it is back")
    if outage.probe is None or outage.probe.done():
        outage.probe = asyncio.get_running_loop().create_task(_probe_until_up())


async def _probe_until_up() -> None:
    from config.startup import database_conninfo

    while outage.since is not None:
        try:
            conn = await psycopg.AsyncConnection.connect(database_conninfo(), connect_timeout=2)
            await conn.close()
        except psycopg.Error:
            await asyncio.sleep(PROBE_INTERVAL)
            continue
        log.warning("Database reachable again after %.1f s", time.monotonic() - outage.since)
        outage.since = None


class DatabaseOutageMiddleware(AsyncMiddleware):
    async def __call__(self, request):
        if outage.since is not None and request.path_info.startswith(API_PREFIXES) \
                and not request.path_info.startswith(_EXEMPT):
            return unavailable()
        return await self.get_response(request)

    async def process_exception(self, request, exception):
        if not is_outage(exception):
            return None
        _mark_down()
        return unavailable() if request.path_info.startswith(API_PREFIXES) else None
