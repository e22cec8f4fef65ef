"""Upstream failures as the errors our API answers with (DECISIONS #12)."""

import json

import httpx
import orjson

from config.common.errors import ApplicationError


class UpstreamError(ApplicationError):
    """An upstream failure as the status, detail (and headers) our API answers with."""


def header_safe(value: str) -> bool:
    """Whether `value` can be sent in an HTTP header as it is (printable ASCII)."""
    return value == value.strip() and all(" " <= ch <= "~" for ch in value)


def check_key(api_key: str) -> None:
    if not header_safe(api_key):
        raise UpstreamError(502, "The connection's API key cannot be sent in an HTTP header; set it again.")


def error_detail(body: bytes) -> str:
    """The message inside an upstream error body (OpenAI `{"error": {"message"}}`, Ollama
    `{"error": "..."}`, `{"detail": ...}`), or the text itself."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return body.decode(errors="replace").strip()[:1000] or "Upstream error"
    if isinstance(data, dict):
        error = data.get("error", data.get("detail"))
        if isinstance(error, dict):
            return str(error.get("message") or error)
        if error is not None:
            return str(error)
    return json.dumps(data)[:1000]


def status_for(upstream_status: int) -> int:
    """4xx keep their status; upstream 5xx become 502."""
    return upstream_status if upstream_status < 500 else 502


def status_error(status: int, body: bytes, headers) -> UpstreamError:
    """The error for an upstream's error answer; a rate limit's Retry-After is the client's to honour."""
    relayed = {"Retry-After": headers["retry-after"]} if status == 429 and "retry-after" in headers else None
    return UpstreamError(status_for(status), error_detail(body), relayed)


def transport_error(exc: BaseException) -> UpstreamError:
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return UpstreamError(504, "Upstream timed out")
    return UpstreamError(502, f"Upstream unreachable: {exc.__class__.__name__}")


def json_object(body: bytes | str) -> dict:
    """An upstream answer's JSON object; a cut or invalid body is 502, never relayed. orjson: an
    embedding answer is megabytes of floats, parsed ~4x faster than by `json`."""
    try:
        data = orjson.loads(body)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise UpstreamError(502, "Upstream returned invalid JSON")
    return data
