"""Access decisions live in accounts/access.py only: no other module reads the bypass settings or
checks a role itself (it asks `access.is_admin`, `access.can_read`, `access.visible`, ...)."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["accounts", "models_registry", "files", "knowledge", "chat", "config"]
POLICY = "accounts/access.py"

# Where the roles are defined: the properties (and Django admin's is_staff/has_perm built on them).
ROLE_DEFINITIONS = {"accounts/models.py"}
# Where the bypass settings are read from the environment.
SETTINGS = {"config/settings.py"}
# BYPASS_ names that are not about access.
NOT_ACCESS = {"BYPASS_EMBEDDING_AND_RETRIEVAL"}  # whole documents instead of retrieval

ROLE_ATTRIBUTES = {"is_admin", "is_verified", "is_staff", "is_superuser"}
BYPASS = re.compile(r"\bBYPASS_\w+")


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative and relative != POLICY:
                yield relative, path.read_text()


def _role_checks(source: str, relative: str) -> list[str]:
    """`x.is_admin`-style reads (but not `access.is_admin(...)`) and comparisons of `x.role`."""
    found = []
    for node in ast.walk(ast.parse(source, relative)):
        if (isinstance(node, ast.Attribute) and node.attr in ROLE_ATTRIBUTES
                and not (isinstance(node.value, ast.Name) and node.value.id == "access")):
            found.append(f"{relative}:{node.lineno} .{node.attr}")
        elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and node.left.attr == "role":
            found.append(f"{relative}:{node.lineno} .role compared")
    return found


def test_no_bypass_setting_is_read_outside_the_policy():
    found = [f"{relative}: {name}" for relative, source in _sources() if relative not in SETTINGS
             for name in BYPASS.findall(source) if name not in NOT_ACCESS]
    assert found == []


def test_no_role_is_checked_outside_the_policy():
    found = [check for relative, source in _sources() if relative not in ROLE_DEFINITIONS
             for check in _role_checks(source, relative)]
    assert found == []


def test_the_policy_reads_every_bypass_setting():
    settings = {name for name in BYPASS.findall((ROOT / "config/settings.py").read_text()) if name not in NOT_ACCESS}
    assert settings and settings <= set(BYPASS.findall((ROOT / POLICY).read_text()))
