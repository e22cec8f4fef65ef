"""Request bodies are validated by input declarations (DRF serializers in each app's serializers.py,
pydantic models for the OpenAI and Ollama shapes) through `validated()` or `first_error()`, never by
hand: no view or service checks a body's type or picks its fields itself."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "models_registry", "files", "knowledge", "chat", "config")
HAND_CHECKS = re.compile(r"isinstance\(request\.data|isinstance\(body, dict\)|must be a JSON object|request\.data\.get\(")
# where bodies are declared, and the helpers every declaration goes through (which word the 4xx)
DECLARATIONS = ("serializers.py", "validation.py")
ALLOWED = {"config/common/exceptions.py", "config/common/forms.py"}


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
