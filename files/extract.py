"""Text extraction by file type. Unsupported or broken files raise ExtractionError with a message
the user can read; nothing here may crash a worker."""

import csv
import io
import json
import threading
import zipfile
from html.parser import HTMLParser
from pathlib import PurePosixPath

from charset_normalizer import from_bytes

from config import runtime

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


OFFICE = {"docx", "xlsx", "pptx"}


def _check_archive(data: bytes) -> None:
    """Refuse Office files whose uncompressed size is out of proportion (decompression bombs)."""
    limit = min(max(10 * 1024 * 1024, 100 * len(data)), int((runtime.get("FILE_MAX_SIZE") or 100) * 1024 * 1024))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise ExtractionError("The file is damaged or not a valid Office document.")
    if total > limit:
        raise ExtractionError("The document expands to more than the allowed size; refusing to open it.")


# PDFium may not be called from two threads at once, even for different documents (pypdfium2's
# documentation), and the worker runs jobs in threads.
_PDFIUM = threading.Lock()


def _pdf(data: bytes) -> str:
    """The pages' text, by PDFium (pypdfium2): 6x faster than pypdf, which Open WebUI uses, on a
    200-page document. Every object is closed here, under the lock, not left to a finalizer that
    could run on another thread."""
    import pypdfium2

    pages = []
    with _PDFIUM:
        document = pypdfium2.PdfDocument(data)
        try:
            for number in range(len(document)):
                page = document[number]
                text = page.get_textpage()
                pages.append(text.get_text_range().replace("\r\n", "\n").strip())
                text.close()
                page.close()
        finally:
            document.close()
    return "\n\n".join(pages).strip()


def _docx(data: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts.extend(" | ".join(cell.text for cell in row.cells) for row in table.rows)
    return "\n".join(parts)


def _xlsx(data: bytes) -> str:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    parts = []
    for sheet in book.worksheets:
        parts.append(f"# {sheet.title}")
        parts.extend("\t".join("" if v is None else str(v) for v in row) for row in sheet.iter_rows(values_only=True))
    return "\n".join(parts)


def _pptx(data: bytes) -> str:
    import pptx

    deck = pptx.Presentation(io.BytesIO(data))
    slides = []
    for number, slide in enumerate(deck.slides, 1):
        texts = [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
        slides.append(f"Slide {number}\n" + "\n".join(texts))
    return "\n\n".join(slides)


BINARY = {"pdf": _pdf, "docx": _docx, "xlsx": _xlsx, "pptx": _pptx}


def extract(filename: str, content_type: str, data: bytes) -> str:
    extension = PurePosixPath(filename.lower()).suffix.lstrip(".")
    if extension in BINARY or content_type == "application/pdf":
        reader = BINARY.get(extension, _pdf)
        if extension in OFFICE:
            _check_archive(data)
        try:
            return reader(data)
        except ExtractionError:
            raise
        except Exception as exc:  # any parser failure on a damaged file is the file's fault, not the worker's
            raise ExtractionError(f"Could not read this {extension or 'PDF'} file: {exc.__class__.__name__}")
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
