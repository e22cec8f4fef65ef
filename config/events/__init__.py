"""Events, pushed not polled: `file.completed`, `file.failed`, `connection.down`, `connection.up`.

Each is stored once (`Event`, read by the `GET /api/events` SSE feed) and, for every enabled
webhook that asked for it, delivered as signed JSON by a durable job (config.events.tasks) with
retries and backoff. `emit` is what the apps call; it never raises: an event that cannot be
recorded is logged, and the request or job that caused it goes on."""

from config.events.services import CATALOG, emit

__all__ = ["CATALOG", "emit"]
