"""The counters behind the limits: exact across processes in Redis (REDIS_URL; each admission is one
atomic Lua script over every counter it touches), in this process's memory otherwise (the embedded
single-process default).

A `Check` names a counter, the most it may hold and what admission adds. `reserve` adds to every
counter or, when any would go over its limit, to none; `adjust` settles a reservation to the real
usage (or charges usage that was not reserved) afterwards."""

import asyncio
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings

from config.common.errors import ApplicationError

log = logging.getLogger("gateway.usage")
UNAVAILABLE = "Usage limits cannot be checked right now (the counter store is unreachable); retry shortly."

# KEYS: counters; ARGV: limit, amount, ttl for each. Returns {0 or the index of the first counter that
# would go over, then every counter's value (after the increments when admitted)}.
RESERVE = """
local values = {}
local refused = 0
for i = 1, #KEYS do
  values[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  if refused == 0 and values[i] + tonumber(ARGV[3 * i - 1]) > tonumber(ARGV[3 * i - 2]) then refused = i end
end
if refused == 0 then
  for i = 1, #KEYS do
    values[i] = redis.call('INCRBY', KEYS[i], ARGV[3 * i - 1])
    redis.call('EXPIRE', KEYS[i], ARGV[3 * i])
  end
end
table.insert(values, 1, refused)
return values
"""
# KEYS: counters; ARGV: delta, ttl for each. ttl 0: only a counter that still exists (a settlement in
# a window that has ended changes nothing); else the counter is made if need be and lives ttl seconds.
ADJUST = """
for i = 1, #KEYS do
  local ttl = tonumber(ARGV[2 * i])
  if ttl > 0 or redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('INCRBY', KEYS[i], ARGV[2 * i - 1])
    if ttl > 0 and redis.call('TTL', KEYS[i]) < 0 then redis.call('EXPIRE', KEYS[i], ttl) end
  end
end
return 1
"""


@dataclass(frozen=True, slots=True)
class Check:
    key: str
    limit: int
    amount: int
    ttl: int  # seconds the counter lives after its last reservation


class Local:
    """Counters in this process (one lock: reservations come from the event loop and from threads)."""

    def __init__(self):
        self._values: dict[str, list] = {}  # key -> [value, expires at (monotonic)]
        self._lock = threading.Lock()
        self._purged = time.monotonic()

    def _value(self, key: str, now: float) -> int:
        entry = self._values.get(key)
        return entry[0] if entry is not None and entry[1] > now else 0

    def reserve(self, checks: list[Check]) -> tuple[int, list[int]]:
        now = time.monotonic()
        with self._lock:
            values = [self._value(c.key, now) for c in checks]
            for i, (check, value) in enumerate(zip(checks, values, strict=True)):
                if value + check.amount > check.limit:
                    return i + 1, values
            for i, check in enumerate(checks):
                values[i] += check.amount
                self._values[check.key] = [values[i], now + check.ttl]
            if now - self._purged > 60:
                self._values = {k: v for k, v in self._values.items() if v[1] > now}
                self._purged = now
        return 0, values

    def adjust(self, items: list[tuple[str, int, int]]) -> None:
        now = time.monotonic()
        with self._lock:
            for key, delta, ttl in items:
                entry = self._values.get(key)
                if entry is not None and entry[1] > now:
                    entry[0] += delta
                elif ttl > 0:
                    self._values[key] = [delta, now + ttl]

    async def areserve(self, checks: list[Check]) -> tuple[int, list[int]]:
        return self.reserve(checks)

    def values(self, keys: list[str]) -> list[int]:
        now = time.monotonic()
        with self._lock:
            return [self._value(key, now) for key in keys]

    def settle_soon(self, items: list[tuple[str, int, int]]) -> None:
        self.adjust(items)


class Redis:
    """Counters in Redis, shared by every process; keys under USAGE_REDIS_PREFIX."""

    def __init__(self, url: str, prefix: str):
        import redis
        import redis.asyncio

        self.prefix = prefix
        self._url = url
        self._sync = redis.Redis.from_url(url)
        self._async: dict[asyncio.AbstractEventLoop, redis.asyncio.Redis] = {}
        self._reserve_sync = self._sync.register_script(RESERVE)
        self._adjust_sync = self._sync.register_script(ADJUST)
        self._pending: set[asyncio.Task] = set()

    def _client(self):
        import redis.asyncio

        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            client = self._async[loop] = redis.asyncio.Redis.from_url(self._url)
        return client

    def _args(self, checks: list[Check]) -> tuple[list[str], list[int]]:
        return [self.prefix + c.key for c in checks], [v for c in checks for v in (c.limit, c.amount, c.ttl)]

    async def areserve(self, checks: list[Check]) -> tuple[int, list[int]]:
        import redis

        keys, args = self._args(checks)
        try:
            result = await self._client().eval(RESERVE, len(keys), *keys, *args)
        except redis.RedisError as exc:
            log.error("usage counters: %s", exc)
            raise ApplicationError(503, UNAVAILABLE, {"Retry-After": "5"}) from exc
        return int(result[0]), [int(v) for v in result[1:]]

    def reserve(self, checks: list[Check]) -> tuple[int, list[int]]:
        keys, args = self._args(checks)
        result = self._reserve_sync(keys=keys, args=args)
        return int(result[0]), [int(v) for v in result[1:]]

    def values(self, keys: list[str]) -> list[int]:
        import redis

        try:
            found = self._sync.mget([self.prefix + key for key in keys])
        except redis.RedisError as exc:
            log.error("usage counters: %s", exc)
            raise ApplicationError(503, UNAVAILABLE, {"Retry-After": "5"}) from exc
        return [int(v or 0) for v in found]

    def _adjust_args(self, items):
        return [self.prefix + k for k, _, _ in items], [v for _, delta, ttl in items for v in (delta, ttl)]

    def adjust(self, items: list[tuple[str, int, int]]) -> None:
        keys, args = self._adjust_args(items)
        self._adjust_sync(keys=keys, args=args)

    async def _aadjust(self, items) -> None:
        import redis

        keys, args = self._adjust_args(items)
        try:
            await self._client().eval(ADJUST, len(keys), *keys, *args)
        except redis.RedisError as exc:
            log.error("usage counters: a settlement was lost: %s", exc)

    def settle_soon(self, items: list[tuple[str, int, int]]) -> None:
        """Settle without making the caller wait (it may be a cancelled stream's last breath)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.adjust(items)
            return
        task = loop.create_task(self._aadjust(items))
        self._pending.add(task)  # a strong reference until it is done
        task.add_done_callback(self._pending.discard)


_store: Local | Redis | None = None


def store() -> Local | Redis:
    global _store
    if _store is None:
        _store = Redis(settings.REDIS_URL, settings.USAGE_REDIS_PREFIX) if settings.REDIS_URL else Local()
    return _store
