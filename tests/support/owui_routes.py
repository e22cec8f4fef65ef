"""Open WebUI 0.12.4's HTTP routes, read from its source, and the ones we serve.

Run `python -m tests.support.owui_routes [SOURCE]` to rewrite tests/support/owui_routes.json, the list
tests/test_route_coverage.py requests on the live server. SOURCE is the unpacked `open_webui` package
(a directory), an `open-webui` wheel, or nothing: then `pip download --no-deps open-webui==0.12.4`.
The routes are read with `ast` (the package itself is never imported: it needs half of PyPI): every
`@router.<method>(path)` / `@router.api_route(path, methods=...)` in routers/*.py under the prefix
main.py mounts that router at, and every `@app.<method>(path)` in main.py.

Families we deliberately leave out (DECISIONS.md, issue 12) are listed in EXCLUDED_FAMILIES, single
routes in EXCLUDED_ROUTES; the README's "Compatibility" section names them too."""

import ast
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "0.12.4"
LIST = Path(__file__).with_name("owui_routes.json")
METHODS = ("get", "post", "put", "patch", "delete")

# Whole routers (by family) out of scope, and why.
EXCLUDED_FAMILIES = {
    "audio": "speech to text and text to speech",
    "images": "image generation",
    "channels": "the web UI's chat rooms",
    "notes": "the web UI's notes",
    "calendars": "the web UI's calendars",
    "automations": "the web UI's scheduled automations",
    "terminals": "the web UI's code terminals",
    "skills": "the web UI's agent skills",
    "tools": "tools plugins",
    "functions": "functions plugins",
    "pipelines": "pipelines plugins",
    "memories": "the web UI's per-user memories",
    "evaluations": "the web UI's arena and feedback",
    "configs": "the web UI's UI-only settings",
    "mfa": "multi-factor sign-in",
    "scim": "SCIM provisioning",
    "oauth": "OAuth sign-in",
    "search": "the web UI's search box over notes and channels",
    "analytics": "the web UI's admin analytics (off unless ENABLE_ADMIN_ANALYTICS)",
    "apps": "the web UI's app launcher",
    "notifications": "the web UI's notifications",
    "utils": "the web UI's utilities (markdown, code execution, a chat as PDF, database download)",
    "events": "the web UI's event webhooks",
    "web": "the web UI's own files (manifest, opensearch, cached assets)",
}

# Single routes of in-scope families that belong to an out-of-scope feature.
EXCLUDED_ROUTES = {
    ("POST", "/openai/audio/speech"): "audio (text to speech)",
    ("POST", "/api/v1/retrieval/process/web"): "web (URL) processing",
    ("POST", "/api/v1/retrieval/process/web/search"): "web search",
    ("POST", "/api/v1/retrieval/process/url"): "URL processing",
    ("POST", "/api/v1/retrieval/process/youtube"): "YouTube processing",
    ("POST", "/api/v1/auths/ldap"): "LDAP",
    ("GET", "/api/v1/auths/admin/config/ldap"): "LDAP",
    ("POST", "/api/v1/auths/admin/config/ldap"): "LDAP",
    ("GET", "/api/v1/auths/admin/config/ldap/server"): "LDAP",
    ("POST", "/api/v1/auths/admin/config/ldap/server"): "LDAP",
    ("GET", "/api/v1/auths/admin/config/oauth"): "OAuth",
    ("POST", "/api/v1/auths/admin/config/oauth"): "OAuth",
    ("POST", "/api/v1/auths/oauth/{provider}/token/exchange"): "OAuth",
    ("DELETE", "/api/v1/auths/oauth/sessions/{provider:path}"): "OAuth",
}


def _family_of_app_route(path: str) -> str:
    """Routes main.py declares itself, grouped with the family they belong to."""
    parts = path.strip("/").split("/")
    rest = parts[2:] if parts[:2] == ["api", "v1"] else parts[1:] if parts[0] == "api" else parts
    head = rest[0] if rest else parts[0]
    families = {"models": "models", "embeddings": "embeddings", "messages": "messages", "message": "messages",
                "chat": "chat", "chats": "chats", "tasks": "tasks", "config": "config", "version": "config",
                "changelog": "config", "usage": "config", "events": "events", "health": "health", "ready": "health",
                "oauth": "oauth", "manifest.json": "web", "opensearch.xml": "web", "cache": "web"}
    return families.get(head, head)


def _constant_lists(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level `NAME = ['GET', ...]` (api_route's `methods=` may name one)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List | ast.Tuple):
            values = [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = values
    return found


def _decorated_routes(tree: ast.Module, owner: str) -> list[tuple[str, str]]:
    """(METHOD, path) for every `@<owner>.<method>(path)` / `@<owner>.api_route(path, methods=...)`."""
    constants = _constant_lists(tree)
    routes = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                    and isinstance(decorator.func.value, ast.Name) and decorator.func.value.id == owner):
                continue
            path = decorator.args[0].value if decorator.args and isinstance(decorator.args[0], ast.Constant) else None
            if not isinstance(path, str):
                continue
            verb = decorator.func.attr
            if verb in METHODS:
                routes.append((verb.upper(), path))
            elif verb == "api_route":
                for keyword in decorator.keywords:
                    if keyword.arg == "methods":
                        value = keyword.value
                        names = (constants.get(value.id, []) if isinstance(value, ast.Name)
                                 else [e.value for e in value.elts if isinstance(e, ast.Constant)])
                        routes += [(m.upper(), path) for m in names if m.lower() in METHODS]
    return routes


def _router_prefixes(main: ast.Module) -> dict[str, str]:
    """{router module: prefix} from main.py's `app.include_router(<module>.router, prefix=...)`."""
    prefixes = {}
    for node in ast.walk(main):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "include_router"
                and node.args and isinstance(node.args[0], ast.Attribute) and isinstance(node.args[0].value, ast.Name)):
            for keyword in node.keywords:
                if keyword.arg == "prefix" and isinstance(keyword.value, ast.Constant):
                    prefixes[node.args[0].value.id] = keyword.value.value
    return prefixes


def all_routes(package: Path) -> list[dict]:
    """Every route of the package: method, path (FastAPI's `{param}` syntax) and family."""
    main = ast.parse((package / "main.py").read_text())
    routes = [{"method": m, "path": p, "family": _family_of_app_route(p)} for m, p in _decorated_routes(main, "app")]
    for module, prefix in _router_prefixes(main).items():
        family = prefix.rstrip("/").split("/")[-1]
        family = {"v2": "scim", "mfa": "mfa"}.get(family, family)
        source = package / "routers" / f"{module}.py"
        source = source if source.exists() else package / "routers" / module / "__init__.py"
        for method, path in _decorated_routes(ast.parse(source.read_text()), "router"):
            routes.append({"method": method, "path": prefix + path, "family": family})
    unique = {(r["method"], r["path"]): r for r in routes}
    return sorted(unique.values(), key=lambda r: (r["family"], r["path"], r["method"]))


def in_scope(routes: list[dict]) -> list[dict]:
    stale = set(EXCLUDED_ROUTES) - {(r["method"], r["path"]) for r in routes}
    assert not stale, f"excluded routes that Open WebUI does not have: {sorted(stale)}"
    return [r for r in routes
            if r["family"] not in EXCLUDED_FAMILIES and (r["method"], r["path"]) not in EXCLUDED_ROUTES]


def _package_dir(source: str | None, workdir: Path) -> Path:
    if source is None:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(workdir),
                        f"open-webui=={VERSION}"], check=True)
        source = str(next(workdir.glob("open_webui-*.whl")))
    path = Path(source)
    if path.is_dir():
        return path
    with zipfile.ZipFile(path) as wheel:
        wheel.extractall(workdir / "unpacked", [n for n in wheel.namelist() if n.startswith("open_webui/")
                                                and (n == "open_webui/main.py" or n.startswith("open_webui/routers/"))])
    return workdir / "unpacked" / "open_webui"


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        routes = all_routes(_package_dir(argv[0] if argv else None, Path(workdir)))
    kept = in_scope(routes)
    lines = ",\n".join(f"  {json.dumps(route)}" for route in kept)  # one route a line: readable diffs
    LIST.write_text(f'{{"version": "{VERSION}", "all_routes": {len(routes)}, "routes": [\n{lines}\n]}}\n')
    print(f"{len(kept)} of {len(routes)} routes in scope; written to {LIST}")


def load() -> dict:
    """{"version", "all_routes" (how many Open WebUI has in all), "routes" (the in-scope ones)}."""
    return json.loads(LIST.read_text())


if __name__ == "__main__":
    main(sys.argv[1:])
