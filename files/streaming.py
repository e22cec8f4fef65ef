"""JSON bodies that carry files' extracted text without holding it: the text is read from the
database in slices while the body is written, so a page of large files costs one slice of memory."""

import json
import re
import uuid
from collections.abc import AsyncIterator

from django.http import StreamingHttpResponse

from config.common.db import db_call, hand_back
from files import selectors

SLICE = 256 * 1024  # characters read (and held) at a time


class Text:
    """A file's extracted text, to be written into a `json_response` body slice by slice."""

    def __init__(self, file_id):
        self.file_id = file_id

    async def slices(self) -> AsyncIterator[str]:
        start = 0
        while True:
            piece = await db_call(selectors.content_slice)(self.file_id, start, SLICE)
            if piece:
                yield piece
            if len(piece) < SLICE:
                return
            start += SLICE


def _dumps(value, **kwargs) -> str:
    # as DRF's JSONRenderer writes it (compact, UTF-8, strict), so streamed and rendered bodies match
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"), **kwargs)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


async def _body(value) -> AsyncIterator[bytes]:
    marker = uuid.uuid4().hex  # unguessable, so no stored string can pass for a placeholder
    texts: list[Text] = []

    def placeholder(obj):
        if not isinstance(obj, Text):
            raise TypeError(f"{type(obj).__name__} is not JSON serializable")
        texts.append(obj)
        return f"{marker}{len(texts) - 1}"

    parts = re.split(f'"{marker}(\\d+)"', _dumps(value, default=placeholder))
    for i, part in enumerate(parts):
        if i % 2 == 0:
            yield part.encode()
            continue
        yield b'"'
        async for piece in texts[int(part)].slices():
            yield _dumps(piece)[1:-1].encode()
        yield b'"'


def json_response(value) -> StreamingHttpResponse:
    """`value` as a JSON response, with every `Text` in it streamed from the database (called last in
    a sync view: the request's connection goes back to the pool, and each slice takes one briefly)."""
    hand_back()
    return StreamingHttpResponse(_body(value), content_type="application/json")
