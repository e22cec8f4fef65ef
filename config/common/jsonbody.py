"""The one JSON body parser: DRF views (through JSONParser below), the plain async views, the
provider proxies, upload metadata and WebSocket messages all parse with `loads`.

Python's parser recurses, so a body nested thousands deep raised RecursionError (a 500), and a
structure just under that limit could still blow the stack later when re-encoded; Postgres refuses
NUL in text and jsonb, and NaN or Infinity anywhere. All are refused here as 400s, before anything
is stored or forwarded."""

import json

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 64
TOO_DEEP = f"JSON parse error - nested more than {MAX_DEPTH} levels deep"
NUL = "JSON parse error - text must not contain NUL (\\u0000) characters"


class BadJson(ValueError):
    """A body that is not acceptable JSON; its message is the response's detail."""


def _not_json(constant: str):
    raise ValueError(f"{constant} is not valid JSON")  # as DRF's strict parser: jsonb cannot hold it either


def loads(raw: bytes | str):
    try:
        data = json.loads(raw, parse_constant=_not_json)
    except RecursionError:
        raise BadJson(TOO_DEEP)
    except ValueError as exc:  # includes UnicodeDecodeError
        raise BadJson(f"JSON parse error - {exc}")
    check(data, raw)
    return data


def check(data, raw: bytes | str | None = None) -> None:
    """Refuse too-deep nesting and NUL characters. With the raw text, the walk is skipped when it
    cannot find either (the common case: counting brackets and searching for the escape is C-fast)."""
    if raw is not None:
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogatepass")
        deep = raw.count(b"[") + raw.count(b"{") > MAX_DEPTH
        if not deep and b"\\u0000" not in raw:
            return
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                raise BadJson(TOO_DEEP)
            for key, item in value.items():
                if "\x00" in key:
                    raise BadJson(NUL)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                raise BadJson(TOO_DEEP)
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and "\x00" in value:
            raise BadJson(NUL)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser on top of `loads` (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return loads(stream.read())
        except BadJson as exc:
            raise ParseError(str(exc))
