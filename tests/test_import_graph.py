"""Dependencies point one way (DESIGN.md): accounts ← models_registry ← files ← knowledge ← chat. An app
imports only apps to its left; `config` may be imported by all, and imports apps only in the modules
that wire them together. Imports are read with `ast`, at module level and inside functions."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["accounts", "models_registry", "files", "knowledge", "chat"]

# config's modules that wire the apps together, and why each may import them.
WIRING = {
    "config/urls.py": "the URLConf includes every app's views",
    "config/routing.py": "the WebSocket route to chat's consumer",
    "config/admin_site.py": "the admin site links knowledge's retrieval-settings page",
    "config/dashboard.py": "the admin landing page counts every app's rows",
    "config/metrics_view.py": "/metrics takes an admin's bearer token (accounts' authentication)",
    "config/events/views.py": "the events routes take accounts' authentication and access policy",
    "config/management/commands/": "operator commands (bootstrap creates the admin and connections)",
}

# Imports against the order that are accepted for now: (importing file, imported app) -> why.
ALLOWED: dict[tuple[str, str], str] = {}


def _python_files(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        yield path.relative_to(ROOT).as_posix()


def _imported_packages(relative: str) -> set[str]:
    """Top-level packages `relative` imports, by `import`, `from ... import` or import_module("...")."""
    found = set()
    for node in ast.walk(ast.parse((ROOT / relative).read_text(), relative)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return {name.split(".")[0] for name in found}


def _is_wiring(relative: str) -> bool:
    return any(relative == w or (w.endswith("/") and relative.startswith(w)) for w in WIRING)


def test_every_app_is_in_the_order():
    apps = {p.parent.name for p in ROOT.glob("*/apps.py")}
    assert apps == {*ORDER, "config"}, "a new app needs its place in DESIGN.md's order and here"


def test_apps_import_only_apps_to_their_left():
    wrong = []
    for position, app in enumerate(ORDER):
        for relative in _python_files(app):
            for imported in _imported_packages(relative) & set(ORDER[position + 1:]):
                if (relative, imported) not in ALLOWED:
                    wrong.append(f"{relative} imports {imported}")
    assert wrong == []


def test_config_imports_apps_only_where_it_wires_them():
    wrong = []
    for relative in _python_files("config"):
        imported = _imported_packages(relative) & set(ORDER)
        if imported and not _is_wiring(relative):
            wrong.append(f"{relative} imports {', '.join(sorted(imported))}")
    assert wrong == []


def test_wiring_list_is_as_short_as_it_can_be():
    """Each entry exists and imports an app (config/asgi.py does not: it reaches chat through routing)."""
    for wiring in WIRING:
        files = list(_python_files(wiring)) if wiring.endswith("/") else [wiring]
        assert any(_imported_packages(f) & set(ORDER) for f in files), f"{wiring} wires no app"


def test_allowances_are_still_needed():
    for relative, imported in ALLOWED:
        assert imported in _imported_packages(relative), f"drop the allowance for {relative} → {imported}"
