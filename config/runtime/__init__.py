"""Runtime settings: env-seeded defaults, overridden by values saved in the database.

Reads go through a small in-process cache (STATE_CACHE_SECONDS) so the request path does
not query the settings table each time; a write refreshes this process at once, and other processes
within the cache period.
"""

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import JSONField, Value

from config.common.env import env_bool, env_float, env_int, env_list

ROLES = ("admin", "user", "pending")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?(ms|s|m|h|d|w))+$")
_NUMBER = (int, float)
_OPTIONAL_NUMBER = (int, float, type(None))


def _is_time_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def is_valid_duration(value: str) -> bool:
    return value in ("-1", "0") or bool(_DURATION.match(value))


@dataclass(frozen=True)
class Setting:
    """One runtime setting: its name, the types a saved value may have, its default (seeded from
    the environment variable of the same name, or `env` aliases) and what a valid value is."""

    name: str
    types: tuple[type, ...]
    default: Callable[[], Any]
    valid: Callable[[Any], bool] = field(default=lambda value: True)

    def error(self, value: Any) -> str | None:
        if not isinstance(value, self.types) or (isinstance(value, bool) and bool not in self.types):
            names = " or ".join(t.__name__ for t in self.types).replace("NoneType", "null")
            return f"{self.name} must be of type {names}"
        if not self.valid(value):
            return f"Invalid value for {self.name}: {value!r}"
        return None


def _flag(name: str, default: bool, *aliases: str) -> Setting:
    def seed():
        for alias in aliases:
            if os.environ.get(alias) is not None:
                return env_bool(alias, default)
        return env_bool(name, default)

    return Setting(name, (bool,), seed)


def _text(name: str, default: str = "", valid=lambda value: True, fallback_env: tuple[str, ...] = ()) -> Setting:
    def seed():
        value = os.environ.get(name)
        for alias in fallback_env:
            value = value if value is not None else os.environ.get(alias)
        return default if value is None else value

    return Setting(name, (str,), seed, valid)


def _int(name: str, default: int | None, valid) -> Setting:
    return Setting(name, (int,) if default is not None else (int, type(None)), lambda: env_int(name, default), valid)


def _env_object(name: str) -> dict:
    """A JSON object from the environment; anything else (unset, invalid) is an empty one."""
    try:
        value = json.loads(os.environ.get(name) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _float(name: str, default: float, valid) -> Setting:
    return Setting(name, _NUMBER, lambda: env_float(name, default), valid)


# a longer session overflows datetime when its token is issued (every sign-in would fail)
_MAX_SESSION = 100 * 365 * 86400

DECLARED: dict[str, Setting] = {s.name: s for s in (
    _flag("ENABLE_SIGNUP", True),
    _flag("ENABLE_LOGIN_FORM", True),
    _text("DEFAULT_USER_ROLE", "pending", lambda v: v in ROLES),
    _text("JWT_EXPIRES_IN", "4w", lambda v: is_valid_duration(v) and (parse_duration(v) or 0) <= _MAX_SESSION),
    _flag("ENABLE_API_KEYS", True),
    _flag("ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS", False, "ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS",
          "ENABLE_API_KEY_ENDPOINT_RESTRICTIONS"),
    _text("API_KEYS_ALLOWED_ENDPOINTS", fallback_env=("API_KEY_ALLOWED_ENDPOINTS",)),
    # the admin's default permission tree (accounts.permission_tree; empty: its defaults)
    Setting("USER_PERMISSIONS", (dict,), dict, lambda v: all(isinstance(s, dict) for s in v.values())),
    _flag("ENABLE_OLLAMA_API", True),
    _flag("ENABLE_OPENAI_API", True),
    # embeddings (GET/POST /api/v1/retrieval/embedding)
    _text("RAG_EMBEDDING_ENGINE", "", lambda v: v in ("", "ollama", "openai")),
    _text("RAG_EMBEDDING_MODEL"),
    _int("RAG_EMBEDDING_BATCH_SIZE", 32, lambda v: 1 <= v <= 2048),
    _int("RAG_EMBEDDING_CONCURRENT_REQUESTS", 4, lambda v: 0 <= v <= 64),  # 0: no limit of its own (16 at most)
    _text("RAG_OLLAMA_BASE_URL", "http://localhost:11434", fallback_env=("OLLAMA_BASE_URL",)),
    _text("RAG_OLLAMA_API_KEY"),
    _text("RAG_OPENAI_API_BASE_URL", "https://api.openai.com/v1", fallback_env=("OPENAI_API_BASE_URL",)),
    _text("RAG_OPENAI_API_KEY", fallback_env=("OPENAI_API_KEY",)),
    _text("RAG_EMBEDDING_QUERY_PREFIX"),
    _text("RAG_EMBEDDING_CONTENT_PREFIX"),
    _text("RAG_EMBEDDING_PREFIX_FIELD_NAME"),
    # retrieval (GET/POST /api/v1/retrieval/config)
    _int("RAG_TOP_K", 3, lambda v: 1 <= v <= 100),
    _float("RAG_RELEVANCE_THRESHOLD", 0.0, lambda v: 0 <= v <= 1),
    _flag("ENABLE_RAG_HYBRID_SEARCH", True),
    _float("RAG_HYBRID_BM25_WEIGHT", 0.5, lambda v: 0 <= v <= 1),
    _flag("RAG_FULL_CONTEXT", False),
    _text("RAG_TEMPLATE"),
    _flag("ENABLE_RETRIEVAL_QUERY_GENERATION", False),
    # tasks (GET/POST /api/v1/tasks/config; Open WebUI's names and defaults; empty template: the built-in one)
    _text("TASK_MODEL"),
    _text("TASK_MODEL_EXTERNAL"),
    Setting("TASK_MODEL_PARAMS", (dict, type(None)), lambda: _env_object("TASK_MODEL_PARAMS")),
    _flag("ENABLE_TITLE_GENERATION", True),
    _text("TITLE_GENERATION_PROMPT_TEMPLATE"),
    _flag("ENABLE_TAGS_GENERATION", True),
    _text("TAGS_GENERATION_PROMPT_TEMPLATE"),
    _flag("ENABLE_FOLLOW_UP_GENERATION", True),
    _text("FOLLOW_UP_GENERATION_PROMPT_TEMPLATE"),
    _flag("ENABLE_SEARCH_QUERY_GENERATION", True),
    _text("QUERY_GENERATION_PROMPT_TEMPLATE"),
    _flag("ENABLE_AUTOCOMPLETE_GENERATION", False),
    _int("AUTOCOMPLETE_GENERATION_INPUT_MAX_LENGTH", -1, lambda v: -1 <= v <= 10_000_000),
    _text("AUTOCOMPLETE_GENERATION_PROMPT_TEMPLATE"),
    _text("IMAGE_PROMPT_GENERATION_PROMPT_TEMPLATE"),
    _text("TOOLS_FUNCTION_CALLING_PROMPT_TEMPLATE"),
    _flag("ENABLE_VOICE_MODE_PROMPT", True),
    Setting("VOICE_MODE_PROMPT_TEMPLATE", (str, type(None)), lambda: os.environ.get("VOICE_MODE_PROMPT_TEMPLATE", "")),
    _text("RAG_TEXT_SPLITTER", "", lambda v: v in ("", "character", "token")),
    _flag("ENABLE_MARKDOWN_HEADER_TEXT_SPLITTER", True),
    _text("TIKTOKEN_ENCODING_NAME", "cl100k_base", lambda v: bool(v.strip())),
    _int("CHUNK_SIZE", 1000, lambda v: 50 <= v <= 100_000),
    _int("CHUNK_OVERLAP", 100, lambda v: v >= 0),
    Setting("FILE_MAX_SIZE", _OPTIONAL_NUMBER, lambda: env_float("FILE_MAX_SIZE", 0.0) or None,  # MB
            lambda v: v is None or 0 < v <= 1_000_000),
    _int("FILE_MAX_COUNT", None, lambda v: v is None or 0 < v <= 1_000_000),
    Setting("ALLOWED_FILE_EXTENSIONS", (list,),
            lambda: [e.lower().lstrip(".") for e in env_list("ALLOWED_FILE_EXTENSIONS", "", sep=",")],
            lambda v: all(isinstance(e, str) and e and "/" not in e for e in v)),
    # chat history: admins read (never change) users' chats; admins export every chat (/chats/all/db)
    _flag("ENABLE_ADMIN_CHAT_ACCESS", True),
    _flag("ENABLE_ADMIN_EXPORT", True),
    # usage limits (accounts/limits.py): budgets reset at midnight, Monday, the 1st in this zone
    _text("USAGE_TIME_ZONE", "UTC", lambda v: _is_time_zone(v)),
    _int("USAGE_DEFAULT_MAX_TOKENS", 4096, lambda v: 1 <= v <= 10_000_000),
    # shown to clients (/api/config)
    _flag("SHOW_ADMIN_DETAILS", True),
    _text("ADMIN_EMAIL"),
    _text("WEBUI_URL"),
    _text("WEBUI_NAME", "LLM Gateway"),
    _text("PENDING_USER_OVERLAY_TITLE"),
    _text("PENDING_USER_OVERLAY_CONTENT"),
)}


def _defaults() -> dict[str, Any]:
    return {name: setting.default() for name, setting in DECLARED.items()}


_cache: dict[str, Any] = {}
_loaded_at = float("-inf")


def _load() -> dict[str, Any]:
    global _cache, _loaded_at
    if time.monotonic() - _loaded_at > settings.STATE_CACHE_SECONDS:
        from config.runtime.models import RuntimeSetting

        saved = dict(RuntimeSetting.objects.values_list("key", "value"))
        _cache = {**_defaults(), **{k: v for k, v in saved.items() if k in DECLARED}}
        _loaded_at = time.monotonic()
    return _cache


def get(key: str) -> Any:
    if key not in DECLARED:  # a typo is an error, never a silent default (tests scan every literal key too)
        raise KeyError(f"Unknown runtime setting {key!r}: declare it in config.runtime.DECLARED")
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
    setting = DECLARED.get(key)
    return f"Unknown setting: {key}" if setting is None else setting.error(value)


def update(values: dict[str, Any]) -> dict[str, Any]:
    """Save settings (validated by the caller with `validation_error`) and refresh this process."""
    global _loaded_at
    from config.runtime.models import RuntimeSetting

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
