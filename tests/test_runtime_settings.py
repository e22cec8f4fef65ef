"""Runtime settings are one declared list (config.runtime.DECLARED): every name read in the code is
declared, every declared one is documented, and an unknown name is an error, not a silent default."""

import re
from pathlib import Path

import pytest

from config import runtime

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "models_registry", "files", "knowledge", "chat", "config", "templates")
READ = re.compile(r"""runtime\.get\(\s*["']([A-Za-z0-9_]+)["']""")


def _sources():
    for app in APPS:
        for path in (ROOT / app).rglob("*"):
            if path.suffix in (".py", ".html") and "migrations" not in path.parts:
                yield path, path.read_text()


def test_every_setting_read_by_name_is_declared():
    read = {(path.relative_to(ROOT).as_posix(), name) for path, text in _sources() for name in READ.findall(text)}
    assert read, "the scan found no reads: its pattern is out of date"
    assert [(where, name) for where, name in sorted(read) if name not in runtime.DECLARED] == []


def test_every_declared_setting_is_documented():
    readme = (ROOT / "README.md").read_text()
    assert [name for name in runtime.DECLARED if f"`{name}`" not in readme and f"{name}`" not in readme] == []


def test_an_unknown_name_is_an_error():
    with pytest.raises(KeyError, match="Unknown runtime setting 'RAG_TOP_KK'"):
        runtime.get("RAG_TOP_KK")
    assert runtime.validation_error("RAG_TOP_KK", 3) == "Unknown setting: RAG_TOP_KK"


def test_values_are_checked_by_their_declaration():
    assert runtime.validation_error("RAG_TOP_K", 5) is None
    assert runtime.validation_error("RAG_TOP_K", True) == "RAG_TOP_K must be of type int"
    assert runtime.validation_error("RAG_TOP_K", 0) == "Invalid value for RAG_TOP_K: 0"
    assert runtime.validation_error("FILE_MAX_SIZE", None) is None
    assert runtime.validation_error("RAG_RELEVANCE_THRESHOLD", 1) is None
    assert runtime.validation_error("DEFAULT_USER_ROLE", "root") == "Invalid value for DEFAULT_USER_ROLE: 'root'"


def test_defaults_are_seeded_from_the_environment(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "7")
    monkeypatch.setenv("API_KEY_ALLOWED_ENDPOINTS", "/api/models")  # Open WebUI's older name
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://ollama:11434")
    defaults = runtime._defaults()
    assert defaults["RAG_TOP_K"] == 7
    assert defaults["API_KEYS_ALLOWED_ENDPOINTS"] == "/api/models"
    assert defaults["RAG_OLLAMA_BASE_URL"] == "http://ollama:11434"
