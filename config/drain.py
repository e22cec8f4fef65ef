"""Drain on SIGTERM: `/ready` answers 503 at once, new requests get 503 with `Retry-After` (the
load balancer has been told by `/ready` and sends them elsewhere), running requests and streams go
on for up to `DRAIN_SECONDS`; then the streams still open end with the stream error event (and
`data: [DONE]` for chat streams) and uvicorn is let shut down.

uvicorn stops listening as soon as its `should_exit` is set, so the flag cannot come from uvicorn's
own shutdown (nor from an ASGI lifespan shutdown, which comes later still). uvicorn installs its
signal handler (`Server.handle_exit`) when its server starts: before importing the application in
a `--workers` process, after it otherwise. `install()` (at import, else at the first request) puts
its own handler in front of it and calls uvicorn's only once drained; a process that has served no
request has nothing to drain (a load balancer's first /ready probe is a request).
That works with `manage.py serve` and with plain `uvicorn config.asgi:application` (each of its
`--workers` processes drains on its own). SIGINT (Ctrl-C) is left to uvicorn: it stops at once.
"""

import asyncio
import json
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable

from django.conf import settings

from config.common import errors, requestlog
from config.common.errors import ApplicationError

log = logging.getLogger("gateway.drain")

RETRY_AFTER = "5"
REJECTED = "The server is shutting down; retry shortly."
CUT_OFF = "The server is shutting down; the stream was cut off."
ALWAYS_SERVED = frozenset({"/health", "/ready"})  # probes answer while draining (/ready with 503)
AFTER_CUTOFF_SECONDS = 2.0  # for cut-off streams to send their last event before uvicorn closes them

draining = False
_in_flight = 0  # HTTP requests being handled (streams included)
_streams: set["_Stream"] = set()
_loop: asyncio.AbstractEventLoop | None = None
_installed = False
_cut_off = False  # the drain time is over: a stream that only starts now ends at once
_at_exit: list[Callable[[], object]] = []  # run once drained, before uvicorn is let stop (the usage ledger's flush)


def at_exit(callback: Callable[[], object]) -> None:
    """Run `callback` (blocking, off the event loop) once the drain is over, before the process stops."""
    if callback not in _at_exit:
        _at_exit.append(callback)


class _Stream:
    __slots__ = ("task", "waiting", "cut")

    def __init__(self, task: asyncio.Task | None):
        self.task = task
        self.waiting = False  # awaiting the next chunk (inside our code, so a cancel lands there)
        self.cut = False


def install() -> None:
    """Put the drain in front of uvicorn's SIGTERM handler, when uvicorn is serving this process
    (called at import and, as uvicorn may import the app before it takes the signal, at the first
    request, on the event loop in the main thread; then never again)."""
    global _loop, _installed
    import uvicorn

    if threading.current_thread() is not threading.main_thread():
        return

    previous = signal.getsignal(signal.SIGTERM)
    if not isinstance(getattr(previous, "__self__", None), uvicorn.Server):
        return  # not under uvicorn's main loop (tests, management commands): nothing to drain
    try:
        _loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    uvicorn_exit = previous
    _installed = True

    def on_sigterm(signum, frame):
        if draining:
            return
        start()
        threading.Thread(target=_drain_then_exit, args=(uvicorn_exit, signum), name="drain", daemon=True).start()

    signal.signal(signal.SIGTERM, on_sigterm)


def start() -> None:
    global draining
    draining = True
    log.warning("SIGTERM: draining (/ready is 503, new requests 503) for up to %ss", settings.DRAIN_SECONDS)


def _drain_then_exit(uvicorn_exit: Callable, signum: int) -> None:
    deadline = time.monotonic() + settings.DRAIN_SECONDS
    while _in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    if _in_flight and _loop is not None:
        log.warning("Drain time over: cutting off %s open stream(s)", len(_streams))
        _loop.call_soon_threadsafe(_cut_off_streams)
        deadline = time.monotonic() + AFTER_CUTOFF_SECONDS
        while _in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
    for callback in _at_exit:
        try:
            callback()
        except Exception:  # noqa: BLE001 (a failing hook must not stop the shutdown)
            log.exception("drain: an exit hook failed")
    uvicorn_exit(signum, None)


def _cut_off_streams() -> None:
    """On the event loop: streams waiting for a chunk are woken by a cancel; the others notice
    the flag before they next wait."""
    global _cut_off
    _cut_off = True
    for stream in list(_streams):
        stream.cut = True
        if stream.waiting and stream.task is not None:
            stream.task.cancel()


async def guarded(chunks: AsyncIterator[bytes], ending: Callable[[], list[bytes]]) -> AsyncIterator[bytes]:
    """A streamed response body that the drain can end: then `ending()` is sent instead of the rest."""
    stream = _Stream(asyncio.current_task())
    stream.cut = _cut_off
    _streams.add(stream)
    try:
        while not stream.cut:
            stream.waiting = True
            try:
                chunk = await anext(chunks)
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                if not stream.cut:
                    raise
                if stream.task is not None:
                    stream.task.uncancel()
                break
            finally:
                stream.waiting = False
            yield chunk
        for part in ending():
            yield part
    finally:
        _streams.discard(stream)
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


def cut_off_error() -> ApplicationError:
    return ApplicationError(503, CUT_OFF)


def sse_ending(done: bool) -> Callable[[], list[bytes]]:
    def ending() -> list[bytes]:
        parts = [errors.sse_event(cut_off_error())]
        return parts + [b"data: [DONE]\n\n"] if done else parts
    return ending


def ndjson_ending() -> list[bytes]:
    return [json.dumps({"error": CUT_OFF}).encode() + b"\n"]  # Ollama's own mid-stream error line


def wrap(app):
    """The HTTP application with in-flight counting and, while draining, 503 for new requests."""
    rejected = json.dumps(errors.payload(ApplicationError(503, REJECTED))).encode()

    async def drained(scope, receive, send):
        global _in_flight, _installed
        if not _installed:
            install()
            _installed = True  # one try at the first request
        if draining and scope["path"] not in ALWAYS_SERVED:
            given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
            request_id = requestlog.begin(given).request_id  # returned on every response
            await send({"type": "http.response.start", "status": 503,
                        "headers": [(b"content-type", b"application/json"), (b"retry-after", RETRY_AFTER.encode()),
                                    (b"x-request-id", request_id.encode()), (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": rejected})
            return
        _in_flight += 1
        try:
            await app(scope, receive, send)
        finally:
            _in_flight -= 1

    return drained


def wrap_websocket(app):
    """WebSocket connections refused while draining (close code 1013: try again later)."""
    async def drained(scope, receive, send):
        if draining:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1013})
            return
        await app(scope, receive, send)

    return drained
