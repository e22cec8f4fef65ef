from langchain_text_splitters import RecursiveCharacterTextSplitter

from config import runtime


def split(text: str) -> list[tuple[str, int]]:
    """(chunk text, start index) pairs: CHUNK_SIZE characters with CHUNK_OVERLAP (API.md §6.2)."""
    config = runtime.snapshot()
    size = config["CHUNK_SIZE"]
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size, chunk_overlap=min(config["CHUNK_OVERLAP"], size // 2), add_start_index=True
    )
    return [(doc.page_content, doc.metadata["start_index"]) for doc in splitter.create_documents([text])]
