import asyncio
import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from config import startup

log = logging.getLogger("gateway.worker")


class Command(BaseCommand):
    help = ("Run an ingestion worker: check the database's pgvector first, then process jobs until SIGTERM or "
            "SIGINT; if the database goes away (a restart, a failover) wait for it and go on.")

    def add_arguments(self, parser):
        parser.add_argument("-q", "--queue", action="append", dest="queues", help="queue(s) to serve (default: ingest)")
        parser.add_argument("-c", "--concurrency", type=int, default=settings.INGEST_CONCURRENCY,
                            help="jobs run at once (default: INGEST_CONCURRENCY)")
        parser.add_argument("--no-check", action="store_true", help="skip the pgvector self-check")

    def handle(self, *args, queues, concurrency, no_check, **options):
        if not no_check:
            startup.check_database_or_exit()
        asyncio.run(run(queues or ["ingest"], concurrency))


async def run(queues: list[str], concurrency: int) -> None:
    """On SIGTERM/SIGINT Procrastinate's worker takes no new job and waits for the running ones
    (no `shutdown_graceful_timeout`: as long as they take); a worker killed before that leaves its
    job to the stalled-job recovery (files.tasks.recover_stalled_jobs).
    Procrastinate's worker stops for good when its database connection breaks (its listener fails
    and it returns as if asked to stop), so it runs here in a loop that only a signal ends."""
    from procrastinate.contrib.django import app

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    current = None

    def stop():
        stopping.set()
        if current is not None:
            current.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    with app.replace_connector(app.connector.get_worker_connector()) as worker_app:
        while not stopping.is_set():
            try:
                async with worker_app.open_async():
                    current = worker_app._worker(queues=queues, concurrency=concurrency, install_signal_handlers=False)
                    await current.run()
            except Exception as exc:  # noqa: BLE001 (any failure: the database is the usual cause)
                log.warning("Ingestion worker stopped: %s", exc)
            current = None
            if not stopping.is_set():
                log.warning("Ingestion worker lost its database; restarting when it answers")
                await _wait_for_database(stopping)


async def _wait_for_database(stopping: asyncio.Event) -> None:
    import psycopg

    from config.startup import database_conninfo

    delay = 0.5
    while not stopping.is_set():
        try:
            async with await psycopg.AsyncConnection.connect(database_conninfo(), connect_timeout=5) as conn:
                await conn.execute("SELECT 1")
            return
        except psycopg.Error:
            try:
                await asyncio.wait_for(stopping.wait(), delay)
            except TimeoutError:
                delay = min(delay * 2, 5.0)
