import http.cookiejar
import time
import uuid

import httpx
import pytest
from django.conf import settings
from django.db import OperationalError, connection
from psycopg.conninfo import make_conninfo

from models_registry.models import Connection
from tests import factories
from tests.browser import chromium, page  # noqa: F401 (the browser tests' fixtures)
from tests.factories import PASSWORD
from tests.server import LiveServer
from tests.upstreams import FakeUpstream

settings.STATE_CACHE_SECONDS = 0  # in this process too, as in the server's: tests change the database at will


def _test_database_url() -> str:
    s = connection.settings_dict
    return make_conninfo(dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"] or None,
                         host=s["HOST"] or None, port=s["PORT"] or None)


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_modify_db_settings, django_db_blocker):
    """The test database, created for the whole session (every test uses it through the server)."""
    from django.test.utils import setup_databases, teardown_databases

    from config import startup, vector_check

    with django_db_blocker.unblock():
        try:
            startup.check_database()
        except vector_check.VectorCheckFailed as exc:
            pytest.exit(f"Database self-check failed: {exc}", returncode=3)
        config = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    yield
    with django_db_blocker.unblock():
        # A connection opened under Playwright's sync API lives in another context than this one, so
        # closing "all" connections here can miss it; end every other session before the drop.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        teardown_databases(config, verbosity=0)


@pytest.fixture(scope="session")
def database_url(django_db_setup, django_db_blocker) -> str:
    with django_db_blocker.unblock():
        return _test_database_url()


@pytest.fixture(scope="session", autouse=True)
def _no_leftover_processes():
    """The suite leaves no server or worker behind: whatever a test started must be stopped by it."""
    import psutil

    yield
    time.sleep(0.5)  # children that were just told to stop
    ours = {}
    for child in psutil.Process().children(recursive=True):
        try:
            command = " ".join(child.cmdline())
        except psutil.NoSuchProcess:
            continue
        if "manage.py" in command or "uvicorn" in command:
            ours[child.pid] = command
            child.kill()
    assert not ours, f"processes left running: {ours}"


@pytest.fixture(scope="session")
def gateway(database_url, tmp_path_factory):
    server = LiveServer(database_url=database_url, data_dir=tmp_path_factory.mktemp("server-data"))
    yield server
    server.stop()


OUR_TABLES = ("accounts_", "config_", "models_registry_", "files_", "knowledge_", "chat_", "django_session", "django_admin_log")


def _wait_for_idle_ingestion(timeout: float = 60) -> None:
    """Let the worker finish what a test queued, so cleaning up never races a running job."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
                           "AND task_name IN ('files.tasks.process_file', 'files.tasks.finish_indexes')")
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.05)
    raise AssertionError("ingestion jobs still running after the test")


def _usable_connection(timeout: float = 30) -> None:
    """A test whose database connection broke (a killed backend, a server in crash recovery) must not
    break the next ones: drop a dead connection and wait for the server to answer again."""
    deadline = time.monotonic() + timeout
    while True:
        if connection.connection is not None and not connection.is_usable():
            connection.close()
        try:
            connection.ensure_connection()
            return
        except OperationalError:
            connection.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture(autouse=True)
def _clean_database(django_db_setup, django_db_blocker):
    """Tests share the database with the live server and its worker, so nothing is wrapped in a
    transaction: every test starts from empty tables (ours; the job queue's stay, once idle)."""
    with django_db_blocker.unblock():
        _usable_connection()
        yield
        _usable_connection()
        assert connection.settings_dict["NAME"].startswith("test"), "refusing to clean a non-test database"
        _wait_for_idle_ingestion()
        tables = [t for t in connection.introspection.django_table_names(only_existing=True) if t.startswith(OUR_TABLES)]
        for attempt in range(5):  # the worker's own bookkeeping can still collide with TRUNCATE
            try:
                with connection.cursor() as cursor:
                    cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
                break
            except OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.2)


@pytest.fixture
def api(gateway):
    """An HTTP client that never keeps cookies: each request authenticates only as the test says."""
    jar = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    with httpx.Client(base_url=gateway.url, timeout=30, cookies=jar) as client:
        yield client


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def signup(api, name: str, email: str | None = None, password: str = PASSWORD) -> dict:
    email = email or f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    response = api.post("/api/v1/auths/signup", json={"name": name, "email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def admin() -> dict:
    """The first user, an admin, with a session (as sign-up answers it). Built in the database with
    a token from the app's token service: tests about sign-up itself sign up over HTTP."""
    return factories.session(factories.admin())


@pytest.fixture
def make_user(admin):
    """A user (role user) with a session; the admin exists first, as the primary admin."""

    def make(name: str = "User") -> dict:
        return factories.session(factories.user(name=name))

    return make


@pytest.fixture
def user(make_user) -> dict:
    return make_user("Bob")


@pytest.fixture
def ollama():
    upstream = FakeUpstream("ollama", models=["llama3.1:8b", "qwen3:4b"]).start()
    yield upstream
    upstream.stop()


@pytest.fixture
def openai_upstream():
    upstream = FakeUpstream("openai", models=["gpt-4o-mini", "gpt-4o"]).start()
    yield upstream
    upstream.stop()


def connect(upstream: FakeUpstream, **fields) -> Connection:
    """Register a fake upstream as a connection (what an admin does in the admin or via /config)."""
    return factories.connection(kind=upstream.kind, base_url=upstream.url, **fields)
