"""One error shape, built in one place: no `{"detail": ...}` literal in the apps outside config/common/errors.py
(raise config.common.errors.ApplicationError instead, and let the one renderer answer)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "models_registry", "files", "knowledge", "chat", "config")
RENDERER = ROOT / "config" / "common" / "errors.py"


def _detail_literals(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Dict)
            and any(isinstance(k, ast.Constant) and k.value == "detail" for k in node.keys)]


def test_error_bodies_are_built_only_by_the_renderer():
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if path != RENDERER and "migrations" not in path.parts and (lines := _detail_literals(path)):
                found[path.relative_to(ROOT).as_posix()] = lines
    assert found == {}


def test_the_scan_sees_the_renderer():
    assert _detail_literals(RENDERER)  # the pattern still matches what it looks for
