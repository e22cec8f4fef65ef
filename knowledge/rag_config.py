"""`GET /api/v1/retrieval/config` and `/config/update` (API.md §6.1): the retrieval settings by their
Open WebUI names, kept as runtime settings. Keys for features this server does not have (rerankers,
external extractors, Hugging Face tokenizers) are reported with their off values; setting one of them
to anything else is refused rather than silently ignored."""

from config import runtime

# ours (cites by [id]); RAG_TEMPLATE replaces it
TEMPLATE = """Use the sources below to answer the user's question. Each source is inside a <source> tag \
with an id. Cite the sources you use as [id] right after the sentence that relies on them. If the \
sources do not contain the answer, say so plainly and answer from what you know, without citations. \
Answer in the language of the question.

<context>
{{CONTEXT}}
</context>

"""

# API name -> runtime setting
SETTINGS = {
    "TOP_K": "RAG_TOP_K",
    "RELEVANCE_THRESHOLD": "RAG_RELEVANCE_THRESHOLD",
    "ENABLE_RAG_HYBRID_SEARCH": "ENABLE_RAG_HYBRID_SEARCH",
    "HYBRID_BM25_WEIGHT": "RAG_HYBRID_BM25_WEIGHT",
    "RAG_FULL_CONTEXT": "RAG_FULL_CONTEXT",
    "RAG_TEMPLATE": "RAG_TEMPLATE",
    "ENABLE_RETRIEVAL_QUERY_GENERATION": "ENABLE_RETRIEVAL_QUERY_GENERATION",
    "TASK_MODEL": "TASK_MODEL",
    "TEXT_SPLITTER": "RAG_TEXT_SPLITTER",
    "ENABLE_MARKDOWN_HEADER_TEXT_SPLITTER": "ENABLE_MARKDOWN_HEADER_TEXT_SPLITTER",
    "TIKTOKEN_ENCODING_NAME": "TIKTOKEN_ENCODING_NAME",
    "CHUNK_SIZE": "CHUNK_SIZE",
    "CHUNK_OVERLAP": "CHUNK_OVERLAP",
    "FILE_MAX_SIZE": "FILE_MAX_SIZE",
    "FILE_MAX_COUNT": "FILE_MAX_COUNT",
    "ALLOWED_FILE_EXTENSIONS": "ALLOWED_FILE_EXTENSIONS",
}

UNSUPPORTED = {
    "BYPASS_EMBEDDING_AND_RETRIEVAL": False,
    "ENABLE_RAG_HYBRID_SEARCH_ENRICHED_TEXTS": False,
    "CONTENT_EXTRACTION_ENGINE": "",
    "PDF_EXTRACT_IMAGES": False,
    "PDF_LOADER_MODE": "page",
    "RAG_RERANKING_MODEL": "",
    "RAG_RERANKING_ENGINE": "",
    "RAG_RERANKING_BATCH_SIZE": 32,
    "RAG_TOKENIZER_MODEL": "",
    "CHUNK_MIN_SIZE_TARGET": 0,
    "FILE_IMAGE_COMPRESSION_WIDTH": None,
    "FILE_IMAGE_COMPRESSION_HEIGHT": None,
}


def template(config: dict | None = None) -> str:
    """The RAG template in force (from `config`, the runtime settings, when given)."""
    return (config or runtime.snapshot())["RAG_TEMPLATE"] or TEMPLATE


def config_out() -> dict:
    config = runtime.snapshot()
    out = {"status": True, **{name: config[key] for name, key in SETTINGS.items()}, **UNSUPPORTED}
    out["RAG_TEMPLATE"] = template(config)
    out["TOP_K_RERANKER"] = config["RAG_TOP_K"]
    return out


def update(values: dict) -> None:
    """Save settings validated by knowledge.serializers.RetrievalConfigIn (keyed by setting name)."""
    if values.get("RAG_TEMPLATE") == template():
        values["RAG_TEMPLATE"] = ""  # the built-in one, kept as such so it follows upgrades
    runtime.update(values)
