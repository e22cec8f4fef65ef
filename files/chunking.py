import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from langchain_text_splitters import RecursiveCharacterTextSplitter

from config import runtime
from files.extract import ExtractionError

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = ("```", "~~~")


@dataclass(frozen=True)
class Piece:
    text: str
    start: int  # offset in the whole text
    headers: dict = field(default_factory=dict)  # "Header 1".."Header 6" of the Markdown section


def is_markdown(filename: str, content_type: str) -> bool:
    return content_type == "text/markdown" or PurePosixPath(filename.lower()).suffix in (".md", ".markdown")


def split(text: str, *, markdown: bool = False) -> list[Piece]:
    """The text's chunks (API.md §6.2): CHUNK_SIZE characters, or tokens of the TIKTOKEN_ENCODING_NAME
    encoding with RAG_TEXT_SPLITTER=token, overlapping by CHUNK_OVERLAP; a Markdown document is first
    cut at its headings (ENABLE_MARKDOWN_HEADER_TEXT_SPLITTER), so no chunk spans two sections and
    each knows its headings."""
    config = runtime.snapshot()
    splitter = _splitter(config)
    sections = _sections(text) if markdown and config["ENABLE_MARKDOWN_HEADER_TEXT_SPLITTER"] else [(0, text, {})]
    return [Piece(doc.page_content, offset + doc.metadata["start_index"], headers)
            for offset, section, headers in sections
            for doc in splitter.create_documents([section])]


def _splitter(config: dict) -> RecursiveCharacterTextSplitter:
    size = config["CHUNK_SIZE"]
    options = {"chunk_size": size, "chunk_overlap": min(config["CHUNK_OVERLAP"], size // 2), "add_start_index": True}
    if config["RAG_TEXT_SPLITTER"] != "token":
        return RecursiveCharacterTextSplitter(**options)
    name = config["TIKTOKEN_ENCODING_NAME"]
    try:  # tiktoken downloads an encoding once, into TIKTOKEN_CACHE_DIR
        return RecursiveCharacterTextSplitter.from_tiktoken_encoder(encoding_name=name, **options)
    except (ValueError, OSError) as exc:
        raise ExtractionError(f"Token splitting needs the tiktoken encoding {name!r}, which is unavailable: {exc}")


def _sections(text: str) -> list[tuple[int, str, dict]]:
    """(offset, text, headings) of each Markdown section; `#` lines inside code fences are not headings.
    Sections are exact slices of the text, so chunk offsets stay true."""
    cuts: list[tuple[int, dict]] = [(0, {})]
    open_headings: dict[int, str] = {}
    in_fence, position = False, 0
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith(_FENCE):
            in_fence = not in_fence
        elif not in_fence and (match := _HEADING.match(line.rstrip("\r\n"))):
            level = len(match.group(1))
            open_headings = {lvl: title for lvl, title in open_headings.items() if lvl < level}
            open_headings[level] = match.group(2).strip()
            cuts.append((position, {f"Header {lvl}": title for lvl, title in sorted(open_headings.items())}))
        position += len(line)
    ends = [start for start, _ in cuts[1:]] + [len(text)]
    return [(start, text[start:end], headings) for (start, headings), end in zip(cuts, ends) if text[start:end].strip()]
