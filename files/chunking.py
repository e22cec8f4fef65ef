from langchain_text_splitters import RecursiveCharacterTextSplitter

from config import runtime
from files.extract import ExtractionError


def split(text: str) -> list[tuple[str, int]]:
    """(chunk text, start index) pairs (API.md §6.2): CHUNK_SIZE characters, or tokens of the
    TIKTOKEN_ENCODING_NAME encoding with RAG_TEXT_SPLITTER=token, overlapping by CHUNK_OVERLAP."""
    config = runtime.snapshot()
    size = config["CHUNK_SIZE"]
    options = {"chunk_size": size, "chunk_overlap": min(config["CHUNK_OVERLAP"], size // 2), "add_start_index": True}
    if config["RAG_TEXT_SPLITTER"] == "token":
        name = config["TIKTOKEN_ENCODING_NAME"]
        try:  # tiktoken downloads an encoding once, into TIKTOKEN_CACHE_DIR
            splitter = RecursiveCharacterTextSplitter.from_tiktoken_encoder(encoding_name=name, **options)
        except (ValueError, OSError) as exc:
            raise ExtractionError(f"Token splitting needs the tiktoken encoding {name!r}, which is unavailable: {exc}")
    else:
        splitter = RecursiveCharacterTextSplitter(**options)
    return [(doc.page_content, doc.metadata["start_index"]) for doc in splitter.create_documents([text])]
