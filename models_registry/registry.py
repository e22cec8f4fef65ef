"""The model list users see (API.md §2.1): provider models merged across connections, overrides
and presets applied, filtered by access. Upstream lists are fetched concurrently with a short
per-connection timeout and cached (DECISIONS #13); expired lists are refreshed in the background."""

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction

from accounts import access
from config import events
from config.common.db import db_call
from config.common.ttl_cache import MISSING, TTLCache
from models_registry import providers
from models_registry.models import Connection, Model
from models_registry.providers import UpstreamError

logger = logging.getLogger(__name__)
_list_cache: dict[int, tuple[tuple, float, list[dict]]] = {}  # pk → (connection settings, fresh until, models)
_inflight: dict[tuple, asyncio.Future] = {}


@dataclass
class Entry:
    """One model: `public` is what /api/models shows; the rest routes a chat to its upstream."""

    id: str
    public: dict
    kind: str  # the connections' kind
    upstream_id: str
    connections: list[Connection] = field(default_factory=list)
    row: Model | None = None  # override or preset row
    base: "Entry | None" = None  # for presets


@dataclass
class Snapshot:
    """Everything the request path needs from the database, read in one thread hop."""

    connections: list[Connection]
    rows: list[Model]
    readable: set[str]
    merged: tuple = ()  # (the model lists they were made from, the entries): reused while those lists are

    def entries(self, lists: list[list[dict]]) -> list[Entry]:
        """The connections' models merged, with the rows applied: made again only when a list changed
        (they are cached objects), not on every request. Callers never change an entry."""
        if not self.merged or len(self.merged[0]) != len(lists) or any(a is not b for a, b in zip(self.merged[0], lists)):
            self.merged = (tuple(lists), _apply_rows(_merge(self.connections, lists), self.rows))
        return self.merged[1]


def _cache_key(conn: Connection) -> tuple:
    return (conn.base_url, conn.api_key, conn.updated_at)


def record_health(conn: Connection, error: str, **fields) -> None:
    """Store a connection's last error ("" when it answered) and `fields`; the process that flips it
    between up and down (under the row lock: once, whichever process noticed) emits the event."""
    with transaction.atomic():
        was = Connection.objects.select_for_update().filter(pk=conn.pk).values_list("last_error", flat=True).first()
        if was is None:
            return  # deleted meanwhile
        Connection.objects.filter(pk=conn.pk).update(last_error=error, last_checked_at=datetime.now(UTC), **fields)
        if bool(was) != bool(error):
            events.emit("connection.down" if error else "connection.up", subject_id=conn.pk,
                        data={"id": conn.pk, "name": conn.name, "kind": conn.kind, "url": conn.base_url, "error": error})


async def _fetch_now(conn: Connection, key: tuple) -> list[dict]:
    try:
        models, error = await providers.provider_for(conn).list_models(), ""
    except UpstreamError as exc:
        previous = _list_cache.get(conn.pk)
        models, error = (previous[2] if previous and previous[0] == key else []), exc.detail  # the last good list
    # A dead connection is asked again after a short while.
    ttl = settings.MODELS_CACHE_TTL if not error else min(settings.MODELS_CACHE_TTL, 10.0)
    _list_cache[conn.pk] = (key, time.monotonic() + ttl, models)
    if error != conn.last_error or conn.last_checked_at is None:
        await db_call(record_health)(conn, error)
    return models


def _start_fetch(conn: Connection, key: tuple) -> asyncio.Future:
    task = _inflight.get((conn.pk, key))
    if task is None:  # concurrent misses share one upstream call
        task = _inflight[(conn.pk, key)] = asyncio.ensure_future(_fetch_now(conn, key))
        task.add_done_callback(lambda done: (_inflight.pop((conn.pk, key), None), _log_failure(done)))
    return task


def _log_failure(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:  # also marks it retrieved
        logger.warning("Model list refresh failed: %r", task.exception())


async def _fetch(conn: Connection, refresh: bool) -> list[dict]:
    """The connection's models. Once a list is cached, callers never wait on the upstream: an
    expired list is served while a fresh one is fetched in the background (`refresh` waits)."""
    key = _cache_key(conn)
    cached = _list_cache.get(conn.pk)
    if cached and cached[0] == key and not refresh:
        if cached[1] <= time.monotonic():
            _start_fetch(conn, key)
        return cached[2]
    return await asyncio.shield(_start_fetch(conn, key))


def forget_models(conn: Connection) -> None:
    """Drop a connection's cached model list in this process (its models just changed): the next
    list asks the upstream."""
    _list_cache.pop(conn.pk, None)


def _prefixed(conn: Connection, model_id: str) -> str:
    return f"{conn.prefix_id}.{model_id}" if conn.prefix_id else model_id


def _merge(connections: list[Connection], lists: list[list[dict]]) -> list[Entry]:
    entries: dict[str, Entry] = {}
    counts: dict[str, int] = {}  # url_idx: a connection's index among those of its kind
    pairs = sorted(((providers.provider_for(c), models) for c, models in zip(connections, lists)), key=lambda p: p[0].order)
    for provider, models in pairs:
        conn = provider.conn
        idx = counts[conn.kind] = counts.get(conn.kind, -1) + 1
        tags = [{"name": t} if isinstance(t, str) else t for t in conn.tags] if isinstance(conn.tags, list) else []
        allowed = conn.model_ids if isinstance(conn.model_ids, list) else []
        for raw in models:
            upstream_id = provider.model_id(raw)
            if not upstream_id or (allowed and upstream_id not in allowed) or not provider.listed(upstream_id):
                continue
            model_id = _prefixed(conn, upstream_id)
            if provider.joins(entries.get(model_id), idx):
                continue
            entries[model_id] = Entry(model_id, provider.public(raw, model_id, idx, tags), conn.kind, upstream_id, [conn])
    return list(entries.values())


def _ts(value) -> int:
    return int(value.timestamp())


def row_info(row: Model, grants: list[dict] | None = None) -> dict:
    """`info` for /api/models: never the system prompt or other params (API.md §2.1)."""
    meta = {k: v for k, v in row.meta.items() if k != "profile_image_url"}
    return {
        "id": row.id, "user_id": str(row.user_id) if row.user_id else None, "base_model_id": row.base_model_id,
        "name": row.name, "version_id": str(row.version_id), "params": {}, "is_active": row.is_active,
        "updated_at": _ts(row.updated_at), "created_at": _ts(row.created_at), "meta": meta,
        "access_grants": grants or [],
    }


def _apply_rows(base: list[Entry], rows: list[Model]) -> list[Entry]:
    by_id = {e.id: e for e in base}
    result = list(base)
    for row in rows:
        if not row.base_model_id and row.id in by_id:  # override of a provider model
            entry = by_id[row.id]
            if not row.is_active:
                result.remove(entry)
                continue
            entry.row = row
            entry.public = {**entry.public, "name": row.name or entry.public["name"], "info": row_info(row)}
            if row.meta.get("tags"):
                entry.public["tags"] = row.meta["tags"]
    by_id = {e.id: e for e in result}
    for row in rows:
        if row.base_model_id and row.is_active and row.base_model_id in by_id and row.id not in by_id:
            base_entry = by_id[row.base_model_id]
            public = {
                "id": row.id, "name": row.name, "object": "model", "created": _ts(row.created_at),
                "owned_by": base_entry.public["owned_by"], "connection_type": base_entry.public["connection_type"],
                "preset": True, "tags": row.meta.get("tags", []), "actions": [], "filters": [], "info": row_info(row),
            }
            result.append(Entry(row.id, public, base_entry.kind, base_entry.upstream_id, base_entry.connections, row, base_entry))
    return result


def enabled_connections() -> list[Connection]:
    from models_registry.connections import enabled_kinds

    return list(Connection.objects.filter(enabled=True, kind__in=enabled_kinds()))


def load_snapshot(user) -> Snapshot:
    connections = enabled_connections()
    rows = list(Model.objects.all())
    return Snapshot(connections, rows, access.permitted_ids(user, access.MODEL, access.USE, rows))


_snapshots = TTLCache()


def forget() -> None:
    """Drop cached connections, model rows and grants in this process (after a write)."""
    _snapshots.clear()


async def _snapshot(user) -> Snapshot:
    snapshot = _snapshots.peek(user.id)
    if snapshot is MISSING:
        snapshot = await db_call(lambda: _snapshots.get_or_load(user.id, lambda: load_snapshot(user)))()
        providers.release_stale(snapshot.connections)  # connections removed or changed elsewhere
    return snapshot


async def models_for(user, *, refresh: bool = False) -> list[Entry]:
    """Every model `user` may see and use, in upstream order (OpenAI connections first)."""
    snapshot = await _snapshot(user)
    lists = await asyncio.gather(*(_fetch(c, refresh) for c in snapshot.connections))
    entries = [e for e in snapshot.entries(lists)
               if access.key_allows(access.MODEL, e.id)]  # an API key limited to some models sees those only
    if access.sees_all(user, access.MODEL, access.USE):  # provider models without a row too
        return entries
    return [e for e in entries if e.row is not None and e.row.id in snapshot.readable]


async def base_models(*, refresh: bool = False) -> list[dict]:
    connections = await db_call(enabled_connections)()
    lists = await asyncio.gather(*(_fetch(c, refresh) for c in connections))
    return [e.public for e in _merge(connections, lists)]


async def resolve(user, model_id: str) -> Entry | None:
    """The entry for `model_id` if `user` may use it (unknown and forbidden look the same)."""
    for entry in await models_for(user):
        if entry.id == model_id:
            return entry
    return None
