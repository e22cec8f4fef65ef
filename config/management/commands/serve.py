import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from config import startup
from config.common.processes import die_with_parent

log = logging.getLogger("gateway.serve")


class Command(BaseCommand):
    help = ("Check the database, apply migrations, bootstrap, and serve the ASGI app with uvicorn (HTTP, SSE and "
            "WebSocket), with an ingestion worker beside it.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
        parser.add_argument("--no-migrate", action="store_true")
        parser.add_argument("--no-worker", action="store_true", help="do not start an ingestion worker")
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")),
                            help="web processes (more than one: set REDIS_URL for WebSockets and rate limits)")

    def handle(self, *args, host, port, no_migrate, no_worker, workers, **options):
        version = startup.check_database_or_exit()
        self.stdout.write(f"Database self-check passed (pgvector {version})")
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        call_command("bootstrap")
        # uvicorn re-raises the SIGTERM it caught once it has shut down; with the default handler that
        # would kill this process before the `finally` below stops the worker.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        metrics_dir = _metrics_dir(workers)
        worker = None if no_worker else WorkerSupervisor()  # production runs workers as their own processes
        self.stdout.write(f"Serving on http://{host}:{port}")
        self.stdout.flush()
        try:
            self._serve(host, port, workers)
        finally:
            if worker is not None:
                worker.stop()
            if metrics_dir is not None:
                shutil.rmtree(metrics_dir, ignore_errors=True)

    def _serve(self, host, port, workers):
        import uvicorn

        uvicorn.run(
            "config.asgi:application",
            host=host,
            port=port,
            lifespan="off",
            log_level=os.environ.get("UVICORN_LOG_LEVEL", "warning"),
            proxy_headers=True,
            timeout_graceful_shutdown=5,  # after the drain (config.drain, DRAIN_SECONDS): for what is left (WebSockets)
            workers=workers,
        )


def _metrics_dir(workers: int) -> str | None:
    """With several web processes, /metrics adds up their values (prometheus_client's multiprocess
    mode): a fresh PROMETHEUS_MULTIPROC_DIR under DATA_DIR for this run (removed at exit), unless
    the operator set one. The processes are spawned afterwards, so they all see it."""
    if workers <= 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    parent = settings.DATA_DIR / "prometheus"
    parent.mkdir(parents=True, exist_ok=True)
    path = tempfile.mkdtemp(prefix="run-", dir=parent)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


class WorkerSupervisor:
    """One `manage.py worker` process beside the web server, started again if it ever exits, and
    ended with the server (on Linux also if this process is killed outright)."""

    def __init__(self):
        self._stopping = threading.Event()
        self._proc = self._start()
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)
        self._thread.start()

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "manage.py", "worker", "--no-check"],
                                cwd=settings.BASE_DIR, preexec_fn=die_with_parent)

    def _watch(self):
        while not self._stopping.wait(1.0):
            code = self._proc.poll()
            if code is not None and not self._stopping.is_set():
                log.warning("The ingestion worker exited (status %s); starting another", code)
                self._stopping.wait(2.0)  # no tight loop if it cannot start at all
                if not self._stopping.is_set():
                    self._proc = self._start()

    def stop(self):
        self._stopping.set()
        self._proc.terminate()
        try:
            self._proc.wait(30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

