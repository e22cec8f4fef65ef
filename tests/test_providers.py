"""The provider layer is the one place that knows upstream kinds: every kind has a provider, no
code outside `models_registry/providers/` branches on a kind, and an upstream named only in the
settings (the RAG embedding engine) gets a provider with its own pooled client."""

import asyncio
import contextvars
import re
import time
from pathlib import Path

import pytest

from files import embeddings
from models_registry import providers
from models_registry.models import Connection
from tests.conftest import connect
from tests.upstreams import FakeUpstream

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("chat", "files", "knowledge", "models_registry")
LITERAL = r"""["'](?:ollama|openai)["']"""
KIND_BRANCHES = [
    re.compile(r"Kind\.(?:OLLAMA|OPENAI)"),  # Connection.Kind members name one kind
    re.compile(r"\bkind\s*[!=]="),  # kind == ..., entry.kind != ...
    re.compile(r"[!=]=\s*[\w.]*kind\b"),  # ... == conn.kind
    re.compile(rf"[!=]=\s*{LITERAL}|{LITERAL}\s*[!=]="),  # == "ollama", "openai" != ...
    re.compile(rf"\bin\s*[(\[{{]\s*{LITERAL}"),  # x in ("ollama", ...)
    re.compile(rf"\bcase\s+{LITERAL}"),  # match ... case "ollama"
]
# (file, text on the line, why it is no kind branch)
ALLOWED = [
    ("models_registry/proxy_views.py", "return entry.kind == family.kind",
     "The /ollama/ and /openai/ passthrough routes serve only the models of the kind their URL prefix "
     "names (Open WebUI's routes): a model is compared with the route's own provider class, and no "
     "behaviour differs by kind there."),
]


def _sources():
    for app in SCANNED:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative.startswith("models_registry/providers/"):
                continue
            yield relative, path.read_text()


def test_no_upstream_kind_branch_outside_the_providers():
    found = []
    for relative, text in _sources():
        for number, line in enumerate(text.splitlines(), 1):
            if any(p.search(line) for p in KIND_BRANCHES) and not any(
                    relative == file and allowed in line for file, allowed, _ in ALLOWED):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert not found, "upstream-kind branches belong in models_registry/providers/:\n" + "\n".join(found)


def test_every_allowance_is_still_needed():
    texts = dict(_sources())
    for file, allowed, _ in ALLOWED:
        assert allowed in texts[file], f"{file} no longer has {allowed!r}: drop it from ALLOWED"


def test_every_connection_kind_has_a_provider():
    assert set(providers.KINDS) == set(Connection.Kind.values)
    for kind in Connection.Kind.values:
        assert providers.provider_for(Connection(kind=kind, base_url="http://upstream:1")).kind == kind


@pytest.fixture
def two_embedders():
    upstreams = [FakeUpstream("ollama").start() for _ in range(2)]
    yield upstreams
    for upstream in upstreams:
        upstream.stop()


def _engine(url: str):
    return embeddings.engine({
        "RAG_EMBEDDING_ENGINE": "ollama", "RAG_EMBEDDING_MODEL": "embed-small", "RAG_EMBEDDING_BATCH_SIZE": 2,
        "RAG_OLLAMA_BASE_URL": url, "RAG_OLLAMA_API_KEY": "", "RAG_EMBEDDING_QUERY_PREFIX": "",
        "RAG_EMBEDDING_CONTENT_PREFIX": "", "RAG_EMBEDDING_PREFIX_FIELD_NAME": ""})


def _settles_at(upstream, count: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while upstream.open_connections() != count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_the_embedding_engine_reuses_one_pooled_socket_and_closes_it_when_changed(two_embedders):
    first, second = two_embedders
    for _ in range(3):
        assert len(embeddings.embed(_engine(first.url), ["a", "b", "c"])) == 3  # two batches each
    assert len(first.requests) == 6 and first.open_connections() == 1
    embeddings.embed(_engine(second.url), ["a"])  # the settings now name another endpoint
    assert _settles_at(first, 0) and second.open_connections() == 1


def test_an_upstream_call_outside_any_request_sends_no_request_id(ollama):
    """Management commands and background work call upstreams with no request (and no request id)."""
    conn = connect(ollama)

    async def listed():
        return await providers.provider_for(conn).list_models()

    outside = contextvars.Context()  # nothing any earlier test left set in this process
    assert {m["name"] for m in outside.run(asyncio.run, listed())} == {"llama3.1:8b", "qwen3:4b"}
    assert "x-request-id" not in ollama.headers[-1]
