"""Every in-scope route of Open WebUI 0.12.4 (tests/support/owui_routes.json, written from its source by
`python -m tests.support.owui_routes`) is served: requested as an admin on the live server, none may
answer a router-level 404 (`No route: ...`, no URL pattern matched) or 405 (the path is known, not
that method). What a route then answers (200, a 404 for the random id it was given, 400 for an empty
body, 502 with no upstream) is each family's own tests' business. The README's figures are checked
against the list."""

import re
import uuid
from pathlib import Path

from tests.conftest import bearer
from tests.support import owui_routes

README = Path(__file__).resolve().parent.parent / "README.md"
# Path parameters that are not object ids get a plausible value; every other one a random UUID.
PLAUSIBLE = {"url_idx": "0", "path": "moderations", "file_name": "notes.txt"}
# Last: it ends the admin's session.
LAST = {("POST", "/api/v1/auths/signout")}


def _concrete(path: str) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1).split(":")[0]
        return PLAUSIBLE.get(name, str(uuid.uuid4()))

    return re.sub(r"\{([^}]+)\}", fill, path)


def _unrouted(api, method: str, path: str, token: str) -> str | None:
    """`METHOD path -> status detail` when no route serves it, else None."""
    url = _concrete(path)
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    with api.stream(method, url, headers=bearer(token), timeout=15, **body) as response:
        status = response.status_code
        if status not in (404, 405):
            return None  # an answer from the route itself; streams are not read
        response.read()
    detail = response.json().get("detail", "") if "json" in response.headers.get("content-type", "") else response.text
    if status == 405 or str(detail).startswith("No route"):
        return f"{method} {path} -> {status} {detail}"
    return None


def test_every_in_scope_open_webui_route_is_served(api, admin):
    routes = sorted(owui_routes.load()["routes"], key=lambda r: (r["method"], r["path"]) in LAST)
    missing = [found for r in routes if (found := _unrouted(api, r["method"], r["path"], admin["token"]))]
    assert not missing, f"{len(missing)} of {len(routes)} routes not served:\n" + "\n".join(missing)


def test_the_readme_states_the_coverage_of_the_checked_in_list():
    listed = owui_routes.load()
    stated = re.search(r"serves all (\d+) of the (\d+) HTTP routes of Open WebUI ([\d.]+)", README.read_text())
    assert stated, "README: the Compatibility section's coverage sentence is missing"
    assert (int(stated[1]), int(stated[2]), stated[3]) == (len(listed["routes"]), listed["all_routes"], listed["version"])


def test_the_readme_names_every_family_left_out():
    compatibility = README.read_text().split("## Compatibility", 1)[1].split("\n## ", 1)[0]
    unnamed = [family for family in owui_routes.EXCLUDED_FAMILIES if f"`{family}`" not in compatibility]
    assert not unnamed, f"README's Compatibility section does not name: {unnamed}"
