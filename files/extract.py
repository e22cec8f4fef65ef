"""Text extraction by file type. Unsupported or broken files raise ExtractionError with a message
the user can read; nothing here may crash a worker."""

import csv
import io
import json
from html.parser import HTMLParser
from pathlib import PurePosixPath

from charset_normalizer import from_bytes


WESTERN = ("cp1252", "latin_1", "iso8859_15")


class ExtractionError(Exception):
    pass


def decode(data: bytes) -> str:
    """Text with its encoding detected (UTF-8 first, then charset detection)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        matches = from_bytes(data)
        best = matches.best()
        if best is None:
            raise ExtractionError("The file is not text and its type is not supported.")
        # Single-byte Western text fits many code pages equally well; prefer the most common one.
        for match in matches:
            if match.encoding in WESTERN and match.chaos <= best.chaos:
                return str(match)
        return str(best)


class _HtmlText(HTMLParser):
    SKIP = {"script", "style", "noscript", "template"}
    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def _html(data: bytes) -> str:
    parser = _HtmlText()
    parser.feed(decode(data))
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _csv(data: bytes, delimiter: str) -> str:
    rows = list(csv.reader(io.StringIO(decode(data)), delimiter=delimiter))
    if not rows:
        return ""
    header, body = rows[0], rows[1:]
    return "\n\n".join("\n".join(f"{h}: {v}" for h, v in zip(header, row)) for row in body) or ",".join(header)


def _json(data: bytes) -> str:
    try:
        return json.dumps(json.loads(decode(data)), indent=2, ensure_ascii=False)
    except ValueError as exc:
        raise ExtractionError(f"Invalid JSON: {exc}")


def extract(filename: str, content_type: str, data: bytes) -> str:
    extension = PurePosixPath(filename.lower()).suffix.lstrip(".")
    if content_type.startswith(("image/", "video/", "audio/")) and extension not in {"ts", "svg"}:
        raise ExtractionError(f"File type {content_type} is not supported for processing")
    if extension in {"html", "htm"} or content_type == "text/html":
        return _html(data)
    if extension == "csv" or content_type == "text/csv":
        return _csv(data, ",")
    if extension == "tsv":
        return _csv(data, "\t")
    if extension == "json" or content_type == "application/json":
        return _json(data)
    if b"\x00" in data[:8192]:
        raise ExtractionError(f"File type {content_type or extension or 'unknown'} is not supported for processing")
    return decode(data)
