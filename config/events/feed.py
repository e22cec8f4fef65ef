"""`GET /api/events`: the caller's events as server-sent events, live.

One poller per process (started with its first listener, stopped after its last) reads new events
every EVENTS_POLL_SECONDS in one query and hands each to the listeners that may see it: the owner
of its subject, and admins for the system's own (connections). A client that reconnects with
`Last-Event-ID` first gets what it missed (up to BACKLOG events, kept EVENTS_RETENTION_HOURS)."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from django.conf import settings
from django.db.models import Q

from config import drain
from config.common.db import db_call
from config.events.models import Event
from config.events.services import envelope

log = logging.getLogger("gateway.events")

BACKLOG = 100
BATCH = 500
KEEPALIVE_SECONDS = 15.0


class Listener:
    __slots__ = ("user_id", "sees_system", "after", "queue")

    def __init__(self, user_id: str, sees_system: bool, after: int):
        self.user_id, self.sees_system, self.after = user_id, sees_system, after
        self.queue: asyncio.Queue[dict] = asyncio.Queue(maxsize=1000)

    def sees(self, user_id) -> bool:
        return str(user_id) == self.user_id if user_id is not None else self.sees_system

    def offer(self, event_id: int, user_id, message: dict) -> None:
        if event_id > self.after and self.sees(user_id):
            self.after = event_id
            try:
                self.queue.put_nowait(message)
            except asyncio.QueueFull:  # a client that stopped reading: it reconnects with Last-Event-ID
                log.warning("Event feed of user %s is full; dropping event %s", self.user_id, event_id)


_listeners: set[Listener] = set()
_last_id = 0
_poller: asyncio.Task | None = None


def _latest_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _after(last_id: int, limit: int, upto: int | None = None, listener: "Listener | None" = None) -> list[tuple]:
    rows = Event.objects.filter(id__gt=last_id).order_by("id")
    if upto is not None:
        rows = rows.filter(id__lte=upto)
    if listener is not None:  # one listener's backlog
        mine = Q(user_id=listener.user_id)
        rows = rows.filter(mine | Q(user_id__isnull=True) if listener.sees_system else mine)
    return [(e.id, e.user_id, envelope(e)) for e in rows[:limit]]


async def _poll() -> None:
    global _last_id, _poller
    try:
        while _listeners:
            for event_id, user_id, message in await db_call(_after)(_last_id, BATCH):
                _last_id = event_id
                for listener in list(_listeners):
                    listener.offer(event_id, user_id, message)
            await asyncio.sleep(settings.EVENTS_POLL_SECONDS)
    except Exception:
        log.exception("Event feed poller stopped")
    finally:
        _poller = None


async def listen(user_id: str, sees_system: bool, last_event_id: int | None) -> tuple[Listener, list[dict]]:
    """A listener for new events, and the backlog the client missed (before them)."""
    global _last_id, _poller
    latest = await db_call(_latest_id)()
    if _poller is None or latest < _last_id:  # (lower: the table was emptied and its ids restarted)
        _last_id = latest
    upto = _last_id
    listener = Listener(user_id, sees_system, upto)
    _listeners.add(listener)  # from here on the poller hands it every event after `upto`
    if _poller is None:
        _poller = asyncio.ensure_future(_poll())
    backlog = []
    if last_event_id is not None and last_event_id < upto:
        backlog = [message for _, _, message in await db_call(_after)(last_event_id, BACKLOG, upto, listener)]
    return listener, backlog


def _sse(message: dict) -> bytes:
    return f"id: {message['id']}\nevent: {message['type']}\ndata: {json.dumps(message)}\n\n".encode()


async def stream(listener: Listener, backlog: list[dict]) -> AsyncIterator[bytes]:
    """The SSE body: events as they come, a comment line to keep proxies from closing an idle
    connection; it ends when the process drains (the client reconnects elsewhere)."""
    try:
        yield b"retry: 2000\n\n"
        for message in backlog:
            yield _sse(message)
        idle = 0.0
        while not drain.draining:
            try:
                message = await asyncio.wait_for(listener.queue.get(), timeout=1.0)
            except TimeoutError:
                idle += 1.0
                if idle >= KEEPALIVE_SECONDS:
                    idle = 0.0
                    yield b": keepalive\n\n"
                continue
            idle = 0.0
            yield _sse(message)
    finally:
        _listeners.discard(listener)
