"""Request ids and the log context: one `Context` per HTTP request or WebSocket message, held in a
ContextVar (copied into sync_to_async threads and tasks), carrying the request id, and the user id
and model once known. Every log record gets these as attributes (ContextFilter); LOG_FORMAT=json
writes one JSON object a line (JsonFormatter), the default text shows them after the message."""

import contextvars
import json
import logging
import time
import uuid

HEADER = "X-Request-ID"
MAX_LENGTH = 128


class Context:
    __slots__ = ("request_id", "user_id", "model")

    def __init__(self, request_id: str):
        self.request_id = request_id
        self.user_id: str | None = None
        self.model: str | None = None


_current: contextvars.ContextVar[Context | None] = contextvars.ContextVar("request_context", default=None)


def valid(value: str) -> bool:
    """A client's id is kept when it is 1 to 128 printable ASCII characters."""
    return 0 < len(value) <= MAX_LENGTH and value.isascii() and value.isprintable()


def begin(given: str | None = None) -> Context:
    """A new context for this request (the client's id when valid, else a fresh one), made current."""
    context = Context(given if given and valid(given) else uuid.uuid4().hex)
    _current.set(context)
    return context


def current() -> Context | None:
    return _current.get()


def note_user(user_id) -> None:
    context = _current.get()
    if context is not None:
        context.user_id = str(user_id)


def note_model(model) -> None:
    context = _current.get()
    if context is not None and isinstance(model, str):
        context.model = model


def upstream_headers() -> dict | None:
    """The request id header for a provider request, or None outside a request (the worker)."""
    context = _current.get()
    return {HEADER: context.request_id} if context is not None else None


class ContextFilter(logging.Filter):
    """Adds `request_id`, `user_id` and `model` (None outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _current.get()
        record.request_id = context.request_id if context else None
        record.user_id = context.user_id if context else None
        record.model = context.model if context else None
        return True


class TextFormatter(logging.Formatter):
    """The message, then `[request_id=… user_id=… model=…]` (the known ones) inside a request."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if getattr(record, "request_id", None) is None:
            return text
        fields = " ".join(f"{name}={getattr(record, name)}" for name in ("request_id", "user_id", "model")
                          if getattr(record, name, None) is not None)
        first, newline, rest = text.partition("\n")  # after the message, before any traceback
        return f"{first} [{fields}]{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "user_id": getattr(record, "user_id", None),
            "model": getattr(record, "model", None),
        }
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exc_info"] = record.exc_text
        return json.dumps(data, default=str)
