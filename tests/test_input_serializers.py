"""Request bodies are validated by input declarations (DRF serializers in each app's serializers.py,
pydantic models for the OpenAI and Ollama shapes) through `validated()` or `first_error()`, never by
hand: no view or service checks a body's type or picks its fields itself."""

import re
from pathlib import Path

import pytest

from tests.conftest import bearer

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "models_registry", "files", "knowledge", "chat", "config")
HAND_CHECKS = re.compile(r"isinstance\(request\.data|isinstance\(body, dict\)|must be a JSON object|request\.data\.get\(")
# where bodies are declared, and the helpers every declaration goes through (which word the 4xx)
DECLARATIONS = ("serializers.py", "validation.py")
ALLOWED = {"config/common/exceptions.py", "config/common/forms.py",
           "chat/task_templates.py"}  # Open WebUI's prompt texts ("Response must be a JSON object ..."), not code


def _modules() -> dict[str, str]:
    return {path.relative_to(ROOT).as_posix(): path.read_text() for app in APPS for path in (ROOT / app).rglob("*.py")
            if "migrations" not in path.parts}


def _hand_checks(modules: dict[str, str]) -> dict[str, list[int]]:
    found = {}
    for name, text in modules.items():
        if name in ALLOWED or name.endswith(DECLARATIONS):
            continue
        if lines := [n for n, line in enumerate(text.splitlines(), 1) if HAND_CHECKS.search(line)]:
            found[name] = lines
    return found


def test_no_body_is_checked_by_hand():
    modules = _modules()
    assert sum("views" in name for name in modules) >= 8  # the scan sees the views
    assert _hand_checks(modules) == {}


def test_the_scan_finds_a_hand_check():
    view = "def post(request):\n    if not isinstance(request.data, dict):\n        name = request.data.get('name')\n"
    assert _hand_checks({"files/views.py": view}) == {"files/views.py": [2, 3]}
    assert _hand_checks({"files/serializers.py": view}) == {}


@pytest.mark.parametrize("path, status", [
    ("/api/v1/auths/admin/config", 400),
    ("/api/v1/auths/api_keys", 422),
    ("/api/v1/knowledge/create", 422),
    ("/api/v1/retrieval/config/update", 400),
    ("/api/v1/retrieval/embedding/update", 400),
    ("/api/v1/retrieval/query/doc", 400),
    ("/api/v1/models/create", 400),
    ("/api/v1/models/model/delete", 400),
    ("/ollama/config/update", 422),
    ("/api/chat/completions", 400),
    ("/api/v1/prompts/create", 422),
    ("/api/v1/tasks/config/update", 422),
    ("/api/v1/tasks/title/completions", 400),
    ("/ollama/api/chat", 400),
    ("/openai/chat/completions", 400),
])
def test_a_body_that_is_not_an_object_is_refused_with_one_message(api, admin, path, status):
    response = api.post(path, json=["not", "an", "object"], headers=bearer(admin["token"]))
    assert (response.status_code, response.json()) == (status, {"detail": "The request body must be a JSON object."})


def test_the_schema_documents_the_bodies(api):
    paths = api.get("/openapi.json").json()["paths"]

    def body(path):
        content = paths[path]["post"]["requestBody"]["content"]
        return next(iter(content.values()))["schema"].get("$ref", "").rsplit("/", 1)[-1]

    assert body("/api/v1/auths/admin/config") == "AdminConfigIn"
    assert body("/api/v1/retrieval/config/update") == "RetrievalConfigIn"
    assert body("/api/v1/retrieval/query/doc") == "QueryDocIn"
    assert body("/api/v1/models/create") == "ModelFormIn"
    assert body("/api/v1/files/") == "UploadIn"
    assert body("/openai/config/update") == "OpenAIConfigIn"
