import asyncio
import logging
import signal
import threading
from contextlib import suppress

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError

from config import heap, startup, tracing
from config.common.db import releasing

log = logging.getLogger("gateway.worker")
DEFAULT_QUEUES = ["ingest", "events"]  # files, and webhook deliveries (config.events.tasks)


class Command(BaseCommand):
    help = ("Run an ingestion worker (files and webhook deliveries): check the database's pgvector first, then process jobs until SIGTERM or "
            "SIGINT; if the database goes away (a restart, a failover) wait for it and go on.")

    def add_arguments(self, parser):
        parser.add_argument("-q", "--queue", action="append", dest="queues", help="queue(s) to serve (default: ingest and events)")
        parser.add_argument("-c", "--concurrency", type=int, default=settings.INGEST_CONCURRENCY,
                            help="jobs run at once (default: INGEST_CONCURRENCY), besides the big files' lane")
        parser.add_argument("--no-check", action="store_true", help="skip the pgvector self-check")

    def handle(self, *args, queues, concurrency, no_check, **options):
        tracing.setup()  # no-op unless OTEL_EXPORTER_OTLP_ENDPOINT is set
        if not no_check:
            startup.check_database_or_exit()
        # beside the start, not before it: the worker registers (and /ready says so) as soon as ever
        threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
        asyncio.run(run(lanes(queues or DEFAULT_QUEUES, concurrency)))


def warm_up() -> None:
    """A process's first split, PDF and TLS set-up (0.15 s, 18 ms, 80 ms) paid now, not by the first
    files; then what start-up made is frozen out of the garbage collector (config.heap)."""
    import pypdfium2  # noqa: F401  (imported by the first PDF otherwise)

    from files import chunking
    from models_registry.providers import pools

    with suppress(DatabaseError):  # (the database may be away: `run` waits for it)
        releasing(chunking.warm_up)()
    pools.tls_context()
    heap.freeze()


def lanes(queues: list[str], concurrency: int) -> list[tuple[list[str], int]]:
    """(queues, jobs at once) of each Procrastinate worker this process runs. Serving `ingest` also
    serves the big files' lane (files.services.queue routes them there) with slots of its own, so two
    big files never leave a small one waiting."""
    from files.services import LARGE_QUEUE

    out = [(queues, concurrency)]
    if "ingest" in queues and LARGE_QUEUE not in queues:
        out.append(([LARGE_QUEUE], settings.INGEST_LARGE_CONCURRENCY))
    return out


async def run(lanes: list[tuple[list[str], int]]) -> None:
    """On SIGTERM/SIGINT Procrastinate's worker takes no new job and waits for the running ones
    (no `shutdown_graceful_timeout`: as long as they take); a worker killed before that leaves its
    job to the stalled-job recovery (files.tasks.recover_stalled_jobs).
    Procrastinate's worker stops for good when its database connection breaks (its listener fails
    and it returns as if asked to stop), so it runs here in a loop that only a signal ends."""
    from procrastinate.contrib.django import app

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    current = []

    def stop():
        stopping.set()
        for worker in current:
            worker.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    with app.replace_connector(app.connector.get_worker_connector()) as worker_app:
        while not stopping.is_set():
            try:
                async with worker_app.open_async():
                    current = [worker_app._worker(queues=queues, concurrency=concurrency, install_signal_handlers=False)
                               for queues, concurrency in lanes]
                    await _run_together(current)
            except Exception as exc:  # noqa: BLE001 (any failure: the database is the usual cause)
                log.warning("Ingestion worker stopped: %s", exc)
            current = []
            if not stopping.is_set():
                log.warning("Ingestion worker lost its database; restarting when it answers")
                await _wait_for_database(stopping)


async def _run_together(workers) -> None:
    """Run the lanes' workers until one stops (asked to, or its database went away), then stop the
    others (each finishes its running jobs) and raise the first failure."""
    tasks = [asyncio.create_task(worker.run()) for worker in workers]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for worker in workers:
            worker.stop()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


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
