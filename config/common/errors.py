"""The one error type and its one renderer.

Anything on the request path may `raise ApplicationError(status, detail)`; it reaches the client as
`{"detail": "..."}` with that status (and headers, e.g. `Retry-After`), whether the view is a DRF
view, a plain async view, a stream (an SSE error event) or the WebSocket consumer (an error frame).
DRF's own exceptions (authentication, permissions, parsing) are rendered by the same function."""

import json

from django.http import JsonResponse
from rest_framework.exceptions import APIException

STREAM_FAILED = "Chat completion stream failed"


class ApplicationError(Exception):
    """An error the client is told about: an HTTP status and a readable detail."""

    def __init__(self, status: int, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def flatten(detail) -> str:
    """A readable one-line message from DRF's nested error details."""
    if isinstance(detail, dict):
        parts = []
        for field, value in detail.items():
            text = flatten(value)
            named = field == "non_field_errors" or text.startswith(f"{field} ")  # "name must be ..." names it already
            parts.append(text if named else f"{field}: {text}")
        return "; ".join(parts)
    if isinstance(detail, list):
        return " ".join(flatten(item) for item in detail)
    return str(detail)


def as_application_error(exc: Exception) -> ApplicationError | None:
    """The error the client sees for `exc`, or None if `exc` is a bug (a 500, logged by Django)."""
    if isinstance(exc, ApplicationError):
        return exc
    if isinstance(exc, APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        return ApplicationError(exc.status_code, flatten(exc.detail), headers)
    return None


def payload(error: ApplicationError) -> dict:
    return {"detail": error.detail}


def json_response(error: ApplicationError) -> JsonResponse:
    return JsonResponse(payload(error), status=error.status, headers=error.headers)


def sse_event(error: ApplicationError | None = None) -> bytes:
    """The last event of a stream that failed after its 200 was sent (then `data: [DONE]`)."""
    message = error.detail if error is not None else STREAM_FAILED
    return b"data: " + json.dumps({"error": {"message": message}}).encode() + b"\n\n"


def ws_frame(error: ApplicationError, **fields) -> dict:
    """A WebSocket error frame (`type: error`, with the HTTP status it would have had)."""
    return {"type": "error", "status": error.status, "detail": error.detail, **fields}
