"""Run the real ASGI app (uvicorn, as in production) in a subprocess for the tests."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from config.common.processes import die_with_parent
from config.settings_test import TEST_SECRET

# The settings the suite runs with (a fast password hasher, the suite's secret); a test may pass
# DJANGO_SETTINGS_MODULE in `env` to start a server with others (the production ones).
SETTINGS_MODULE = "config.settings_test"

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, *, database_url: str, data_dir: Path, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log = data_dir / f"server-{self.port}.log"
        full_env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DATA_DIR": str(data_dir),
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "WEBUI_SECRET_KEY": TEST_SECRET,
            "STATE_CACHE_SECONDS": "0",  # tests change the database between requests
            "INGEST_HEARTBEAT_SECONDS": "0.5",  # so a killed worker is noticed within seconds
            "INGEST_STALLED_SECONDS": "2",
            "INGEST_RECOVERY_SECONDS": "1",
            "INGEST_ORPHAN_SECONDS": "10",  # tests make processing files of their own: not theirs to requeue
            "INGEST_LARGE_FILE_MB": "0.1",  # test files of 100 KB and more take the big files' lane
            "VECTOR_INDEX_REBUILD_MIN_ROWS": "100",  # a file of 100 chunks is a big load next to a small index
            "KEYWORD_INDEX_DEFER_MIN_ROWS": "100",  # and merges its keyword-index entries once, after it completes
            "EVENTS_RETRY_SECONDS": "0.2",  # webhook retries at once, then within a few seconds
            "EVENTS_POLL_SECONDS": "0.1",
            "USAGE_FLUSH_SECONDS": "0.1",  # ledger rows in the database soon after each call
            "PYTHONUNBUFFERED": "1",
            # tests/support holds a tiktoken encoding plugin (tiktoken_ext.gateway_bytes) for the token splitter
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "tests" / "support"), os.environ.get("PYTHONPATH")) if p),
            **(env or {}),
        }
        cmd = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(self.port),
               "--host", "127.0.0.1", "--lifespan", "off", "--log-level", "warning"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
                                     preexec_fn=die_with_parent)
        self.env = full_env
        self.worker = self.start_worker()
        try:
            self._wait()
        except RuntimeError:
            self.stop()  # nothing left running behind a server that did not come up
            raise

    def start_worker(self) -> subprocess.Popen:
        """An ingestion worker, as `manage.py serve` runs one beside the web process."""
        return subprocess.Popen([sys.executable, "manage.py", "worker", "-c", "4", "--no-check"],
                                cwd=ROOT, env=self.env, stdout=(self.data_dir / "worker.log").open("a"),
                                stderr=subprocess.STDOUT, preexec_fn=die_with_parent)

    def _wait(self, timeout: float = 90) -> None:  # a loaded shared machine: imports alone can take 20 s
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        for proc in (self.proc, self.worker):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()

