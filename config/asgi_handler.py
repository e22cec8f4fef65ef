"""Django's ASGI handler without its thread hops per request on the async API endpoints.

At the end of every request Django runs `response.close()` through `sync_to_async`: a new thread per
request (its thread-sensitive context), and inside it `request_finished.send`, whose async receivers
hop back to the event loop. Measured with py-spy on the chat endpoint that was over a quarter of the
server's time, and under many concurrent new streams the hops queue. The receivers (`close_caches`,
`reset_urlconf`, `close_old_connections`, `reset_queries`) tidy what a sync view leaves on its thread;
an async view leaves nothing there (its database work runs in units that hand their connections back at
once: `config.common.db.db_call`), so a request resolved to an async view closes its response in the
event loop and sends no signal. Other requests go through Django's handler unchanged (the
start-of-request sweep is off: config/apps.py)."""

import asyncio
import functools

from asgiref.sync import iscoroutinefunction
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import HttpResponse
from django.urls import Resolver404, get_resolver, set_script_prefix


@functools.lru_cache(maxsize=4096)  # the URLconf never changes while serving; paths with ids vary, so bounded
def _served_by_async_view(path: str) -> bool:
    try:
        return iscoroutinefunction(get_resolver().resolve(path).func)
    except Resolver404:
        return False


class GatewayASGIHandler(ASGIHandler):
    async def handle(self, scope, receive, send):
        if not _served_by_async_view(scope["path"]):
            return await super().handle(scope, receive, send)
        await self._handle_async_view(scope, receive, send)

    async def _handle_async_view(self, scope, receive, send):
        """Django's `handle`, less the signals and the thread hop for `response.close()`."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:  # the client left before its body arrived
            return
        set_script_prefix(get_script_prefix(scope))
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            _close(error_response)
            return

        async def process_request():
            response = await self.run_get_response(request)
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # the client left while the response was being sent
            return response

        # As Django: a client that disconnects cancels the view (and with it the upstream request).
        tasks = [asyncio.create_task(self.listen_for_disconnect(receive)), asyncio.create_task(process_request())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                if task.done():
                    # exception(), not result(): a raise here would put this frame in the traceback the
                    # task keeps, a reference cycle holding the whole request until a full collection
                    error = None if task.cancelled() else task.exception()
                    if error is not None and not isinstance(error, RequestAborted):  # RequestAborted: the client left
                        raise error
                else:
                    task.cancel()
                    try:
                        await task
                    except asyncio.CancelledError:
                        pass
            if not tasks[1].cancelled():
                _close(tasks[1].result())
        finally:
            body_file.close()


def _close(response: HttpResponse) -> None:
    """`response.close()` without its `request_finished` signal (closers are file and stream closes)."""
    for closer in response._resource_closers:
        try:
            closer()
        except Exception:  # noqa: BLE001 (as Django's close: a failing closer never fails the request)
            pass
    response._resource_closers.clear()
    response.closed = True


def application() -> GatewayASGIHandler:
    """As `django.core.asgi.get_asgi_application`, with this handler."""
    import django

    django.setup(set_prefix=False)
    return GatewayASGIHandler()
