"""Runtime settings: env-seeded defaults, overridden by values saved in the database.

Reads go through a small in-process cache (STATE_CACHE_SECONDS) so the request path does
not query the settings table each time; a write refreshes this process at once, and other processes
within the cache period.
"""

import re
import time
from typing import Any

from django.conf import settings
from django.db.models import JSONField, Value

from config.env import env_bool, env_float, env_int, env_list, env_str

ROLES = ("admin", "user", "pending")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?(ms|s|m|h|d|w))+$")


def _defaults() -> dict[str, Any]:
    return {
        "ENABLE_SIGNUP": env_bool("ENABLE_SIGNUP", True),
        "ENABLE_LOGIN_FORM": env_bool("ENABLE_LOGIN_FORM", True),
        "DEFAULT_USER_ROLE": env_str("DEFAULT_USER_ROLE", "pending"),
        "JWT_EXPIRES_IN": env_str("JWT_EXPIRES_IN", "4w"),
        "ENABLE_API_KEYS": env_bool("ENABLE_API_KEYS", True),
        "ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS": env_bool(
            "ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS", env_bool("ENABLE_API_KEY_ENDPOINT_RESTRICTIONS", False)
        ),
        "API_KEYS_ALLOWED_ENDPOINTS": env_str("API_KEYS_ALLOWED_ENDPOINTS", env_str("API_KEY_ALLOWED_ENDPOINTS", "")),
        "ENABLE_OLLAMA_API": env_bool("ENABLE_OLLAMA_API", True),
        "ENABLE_OPENAI_API": env_bool("ENABLE_OPENAI_API", True),
        "RAG_EMBEDDING_ENGINE": env_str("RAG_EMBEDDING_ENGINE", ""),
        "RAG_EMBEDDING_MODEL": env_str("RAG_EMBEDDING_MODEL", ""),
        "RAG_EMBEDDING_BATCH_SIZE": int(env_str("RAG_EMBEDDING_BATCH_SIZE", "32")),
        "RAG_OLLAMA_BASE_URL": env_str("RAG_OLLAMA_BASE_URL", env_str("OLLAMA_BASE_URL", "http://localhost:11434")),
        "RAG_OLLAMA_API_KEY": env_str("RAG_OLLAMA_API_KEY", ""),
        "RAG_OPENAI_API_BASE_URL": env_str("RAG_OPENAI_API_BASE_URL", env_str("OPENAI_API_BASE_URL", "https://api.openai.com/v1")),
        "RAG_OPENAI_API_KEY": env_str("RAG_OPENAI_API_KEY", env_str("OPENAI_API_KEY", "")),
        "RAG_EMBEDDING_QUERY_PREFIX": env_str("RAG_EMBEDDING_QUERY_PREFIX", ""),
        "RAG_EMBEDDING_CONTENT_PREFIX": env_str("RAG_EMBEDDING_CONTENT_PREFIX", ""),
        "RAG_EMBEDDING_PREFIX_FIELD_NAME": env_str("RAG_EMBEDDING_PREFIX_FIELD_NAME", ""),
        # retrieval (API.md §6.1; GET/POST /api/v1/retrieval/config)
        "RAG_TOP_K": env_int("RAG_TOP_K", 3),
        "RAG_RELEVANCE_THRESHOLD": env_float("RAG_RELEVANCE_THRESHOLD", 0.0),
        "ENABLE_RAG_HYBRID_SEARCH": env_bool("ENABLE_RAG_HYBRID_SEARCH", True),
        "RAG_HYBRID_BM25_WEIGHT": env_float("RAG_HYBRID_BM25_WEIGHT", 0.5),
        "RAG_FULL_CONTEXT": env_bool("RAG_FULL_CONTEXT", False),
        "RAG_TEMPLATE": env_str("RAG_TEMPLATE", ""),
        "ENABLE_RETRIEVAL_QUERY_GENERATION": env_bool("ENABLE_RETRIEVAL_QUERY_GENERATION", False),
        "TASK_MODEL": env_str("TASK_MODEL", ""),
        "RAG_TEXT_SPLITTER": env_str("RAG_TEXT_SPLITTER", ""),
        "ENABLE_MARKDOWN_HEADER_TEXT_SPLITTER": env_bool("ENABLE_MARKDOWN_HEADER_TEXT_SPLITTER", True),
        "TIKTOKEN_ENCODING_NAME": env_str("TIKTOKEN_ENCODING_NAME", "cl100k_base"),
        "CHUNK_SIZE": env_int("CHUNK_SIZE", 1000),
        "CHUNK_OVERLAP": env_int("CHUNK_OVERLAP", 100),
        "FILE_MAX_SIZE": env_float("FILE_MAX_SIZE", 0.0) or None,  # MB
        "FILE_MAX_COUNT": env_int("FILE_MAX_COUNT", None),
        "ALLOWED_FILE_EXTENSIONS": [e.lower().lstrip(".") for e in env_list("ALLOWED_FILE_EXTENSIONS", "", sep=",")],
        "SHOW_ADMIN_DETAILS": env_bool("SHOW_ADMIN_DETAILS", True),
        "ADMIN_EMAIL": env_str("ADMIN_EMAIL", ""),
        "WEBUI_URL": env_str("WEBUI_URL", ""),
        "WEBUI_NAME": env_str("WEBUI_NAME", "LLM Gateway"),
        "PENDING_USER_OVERLAY_TITLE": env_str("PENDING_USER_OVERLAY_TITLE", ""),
        "PENDING_USER_OVERLAY_CONTENT": env_str("PENDING_USER_OVERLAY_CONTENT", ""),
    }


def is_valid_duration(value: str) -> bool:
    return value in ("-1", "0") or bool(_DURATION.match(value))


_VALIDATORS = {
    "DEFAULT_USER_ROLE": lambda v: v in ROLES,
    # a longer session overflows datetime when its token is issued (every sign-in would fail)
    "JWT_EXPIRES_IN": lambda v: isinstance(v, str) and is_valid_duration(v) and (parse_duration(v) or 0) <= 100 * 365 * 86400,
    "RAG_EMBEDDING_ENGINE": lambda v: v in ("", "ollama", "openai"),
    "RAG_EMBEDDING_BATCH_SIZE": lambda v: 1 <= v <= 2048,
    "RAG_TOP_K": lambda v: 1 <= v <= 100,
    "RAG_RELEVANCE_THRESHOLD": lambda v: 0 <= v <= 1,
    "RAG_HYBRID_BM25_WEIGHT": lambda v: 0 <= v <= 1,
    "RAG_TEXT_SPLITTER": lambda v: v in ("", "character", "token"),
    "TIKTOKEN_ENCODING_NAME": lambda v: bool(v.strip()),
    "CHUNK_SIZE": lambda v: 50 <= v <= 100_000,
    "CHUNK_OVERLAP": lambda v: v >= 0,
    "FILE_MAX_SIZE": lambda v: v is None or 0 < v <= 1_000_000,  # MB
    "FILE_MAX_COUNT": lambda v: v is None or 0 < v <= 1_000_000,
    "ALLOWED_FILE_EXTENSIONS": lambda v: all(isinstance(e, str) and e and "/" not in e for e in v),
}
_NUMBER = (int, float)
_TYPES = {  # where the default's own type is not the whole story
    "RAG_RELEVANCE_THRESHOLD": _NUMBER, "RAG_HYBRID_BM25_WEIGHT": _NUMBER,
    "FILE_MAX_SIZE": (*_NUMBER, type(None)), "FILE_MAX_COUNT": (int, type(None)),
}

_cache: dict[str, Any] = {}
_loaded_at = float("-inf")


def _load() -> dict[str, Any]:
    global _cache, _loaded_at
    if time.monotonic() - _loaded_at > settings.STATE_CACHE_SECONDS:
        from config.models import RuntimeSetting

        saved = dict(RuntimeSetting.objects.values_list("key", "value"))
        _cache = {**_defaults(), **saved}
        _loaded_at = time.monotonic()
    return _cache


def get(key: str) -> Any:
    return _load()[key]


def snapshot() -> dict[str, Any]:
    """All runtime settings at once (one query at most)."""
    return dict(_load())


def cached_snapshot() -> dict[str, Any] | None:
    """The settings if this process's copy is fresh (no query), else None."""
    if time.monotonic() - _loaded_at <= settings.STATE_CACHE_SECONDS:
        return _cache
    return None


def validation_error(key: str, value: Any) -> str | None:
    """Why `value` cannot be saved for `key`, or None when it can."""
    defaults = _defaults()
    if key not in defaults:
        return f"Unknown setting: {key}"
    expected = _TYPES.get(key, (type(defaults[key]),))
    if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
        return f"{key} must be of type {' or '.join(t.__name__ for t in expected).replace('NoneType', 'null')}"
    check = _VALIDATORS.get(key)
    if check and not check(value):
        return f"Invalid value for {key}: {value!r}"
    return None


def update(values: dict[str, Any]) -> dict[str, Any]:
    """Save settings (validated by the caller with `validation_error`) and refresh this process."""
    global _loaded_at
    from config.models import RuntimeSetting

    for key, value in values.items():
        # JSON null, not SQL NULL, for a setting saved as null
        stored = Value(None, JSONField()) if value is None else value
        RuntimeSetting.objects.update_or_create(key=key, defaults={"value": stored})
    _loaded_at = float("-inf")
    return snapshot()


def parse_duration(value: str) -> float | None:
    """Seconds in an Open WebUI duration such as "4w" or "1h30m"; None means no expiry."""
    if value in ("-1", "0"):
        return None
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)", value))
