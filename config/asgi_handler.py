"""Django's ASGI handler without its thread hops per request on the async API endpoints.

Django sends `request_started` and `request_finished` around every request, and their receivers
(`reset_queries`, `close_old_connections`) are sync: under ASGI each send is a hop to the request's
thread and back, about a quarter of the gateway's own time per chat request, and under many
concurrent new streams the hops queue. Those receivers tidy what a sync view left on its thread; an
async view does its database work in units that hand their connections back at once
(`config.common.db.db_call`), so for a request resolved to an async view there is nothing to tidy
and no hop is made. Other requests are tidied when they finish, as Django does (the start-of-request
sweep is already off: config/apps.py)."""

import contextvars

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.core import signals
from django.core.handlers.asgi import ASGIHandler
from django.db import close_old_connections, reset_queries
from django.urls import Resolver404, get_resolver

_async_view = contextvars.ContextVar("async_view", default=False)
_RECEIVERS = (reset_queries, close_old_connections)


def _served_by_async_view(path: str) -> bool:
    try:
        return iscoroutinefunction(get_resolver().resolve(path).func)
    except Resolver404:
        return False


async def _tidy(**kwargs) -> None:
    if not _async_view.get():
        await sync_to_async(_tidy_sync)()


def _tidy_sync() -> None:
    for receiver in _RECEIVERS:
        receiver()


class GatewayASGIHandler(ASGIHandler):
    async def handle(self, scope, receive, send):
        token = _async_view.set(_served_by_async_view(scope["path"]))
        try:
            await super().handle(scope, receive, send)
        finally:
            _async_view.reset(token)


def install() -> None:
    """Swap Django's sync request-signal receivers for one async end-of-request receiver that skips
    async views (resetting the DEBUG query log at the end instead of the start is the same)."""
    for signal in (signals.request_started, signals.request_finished):
        for receiver in _RECEIVERS:
            signal.disconnect(receiver)
    signals.request_finished.connect(_tidy, dispatch_uid="gateway_tidy")


def application() -> GatewayASGIHandler:
    """As `django.core.asgi.get_asgi_application`, with this handler."""
    import django

    django.setup(set_prefix=False)
    install()
    return GatewayASGIHandler()
