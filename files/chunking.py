from django.conf import settings
from langchain_text_splitters import RecursiveCharacterTextSplitter


def split(text: str) -> list[tuple[str, int]]:
    """(chunk text, start index) pairs: CHUNK_SIZE characters with CHUNK_OVERLAP (API.md §6.2)."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=settings.CHUNK_SIZE, chunk_overlap=settings.CHUNK_OVERLAP, add_start_index=True
    )
    return [(doc.page_content, doc.metadata["start_index"]) for doc in splitter.create_documents([text])]
