import os
import subprocess
import sys

from django.conf import settings

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Apply migrations, bootstrap, and serve the ASGI app with uvicorn (HTTP, SSE and WebSocket)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
        parser.add_argument("--no-migrate", action="store_true")
        parser.add_argument("--no-worker", action="store_true", help="do not start an ingestion worker")
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")),
                            help="web processes (more than one: set REDIS_URL for WebSockets and rate limits)")

    def handle(self, *args, host, port, no_migrate, no_worker, workers, **options):
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        call_command("bootstrap")
        worker = None
        if not no_worker:  # production runs workers as their own processes
            worker = subprocess.Popen([sys.executable, "manage.py", "procrastinate", "worker", "-q", "ingest"],
                                      cwd=settings.BASE_DIR)
        self.stdout.write(f"Serving on http://{host}:{port}")
        try:
            self._serve(host, port, workers)
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(10)

    def _serve(self, host, port, workers):
        import uvicorn

        uvicorn.run(
            "config.asgi:application",
            host=host,
            port=port,
            lifespan="off",
            log_level=os.environ.get("UVICORN_LOG_LEVEL", "warning"),
            proxy_headers=True,
            timeout_graceful_shutdown=5,
            workers=workers,
        )
