"""A tiny per-process cache for what the request path reads from the database.

Entries live STATE_CACHE_SECONDS (0 turns caching off, as the tests do). Writes in this process
clear it at once; other processes see them within that period."""

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

_MISSING = object()


class TTLCache:
    def __init__(self, max_entries: int = 10_000):
        self._data: dict[Any, tuple[float, Any]] = {}
        self._max = max_entries

    def get_or_load(self, key, load: Callable[[], Any]):
        ttl = settings.STATE_CACHE_SECONDS
        if ttl <= 0:
            return load()
        hit = self._data.get(key, _MISSING)
        now = time.monotonic()
        if hit is not _MISSING and hit[0] > now:
            return hit[1]
        value = load()
        if len(self._data) >= self._max:
            self._data.clear()
        self._data[key] = (now + ttl, value)
        return value

    def peek(self, key):
        """The cached value if fresh, else _MISSING (lets async code skip a thread hop)."""
        hit = self._data.get(key, _MISSING)
        if hit is not _MISSING and hit[0] > time.monotonic() and settings.STATE_CACHE_SECONDS > 0:
            return hit[1]
        return _MISSING

    def clear(self) -> None:
        self._data.clear()


MISSING = _MISSING
