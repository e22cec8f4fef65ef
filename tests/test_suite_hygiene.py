"""Rules for the suite itself: test modules are independent (shared helpers live in tests/helpers.py,
tests/factories.py or tests/conftest.py), and the suite runs on the test settings."""

import ast
from pathlib import Path

from django.conf import settings

TESTS = Path(__file__).resolve().parent


def _imports_of_test_modules(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("tests.test_"):
                found.append(f"from {node.module} import ...")
            elif node.module == "tests":
                found += [f"from tests import {a.name}" for a in node.names if a.name.startswith("test_")]
        elif isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.startswith("tests.test_")]
    return found


def test_no_test_module_imports_another():
    offenders = {p.name: found for p in sorted(TESTS.rglob("*.py")) if (found := _imports_of_test_modules(p))}
    assert offenders == {}


def test_the_check_sees_every_form_of_such_an_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from tests.test_files import upload\nimport tests.test_chat\nfrom tests import test_knowledge, helpers\n"
                      "from tests.helpers import upload\nimport tests.factories\n")
    assert _imports_of_test_modules(sample) == [
        "from tests.test_files import ...", "import tests.test_chat", "from tests import test_knowledge"]


def test_the_suite_hashes_passwords_fast():
    """The test settings (config/settings_test.py); production's Argon2 is proven in test_auth.py."""
    assert settings.SETTINGS_MODULE == "config.settings_test"
    assert settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.MD5PasswordHasher"


def test_no_test_flushes_the_whole_database():
    """`django_db(transaction=True)` flushes every table when its test ends, content types included,
    which come back under new ids while the live servers keep the old ones cached (an admin save then
    fails on django_admin_log's foreign key). The suite's own clean-up (conftest._clean_database)
    empties the project's tables instead."""
    offenders = [p.name for p in sorted(TESTS.glob("test_*.py")) if "transaction=True" in p.read_text()
                 and p.name != "test_suite_hygiene.py"]
    assert offenders == []
