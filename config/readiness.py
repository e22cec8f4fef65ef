"""`/ready` (as Open WebUI names it): may a load balancer send this process traffic? Each check
names what is wrong; the slow ones (migrations, the pgvector self-check) pass once per process."""

from django.conf import settings
from django.db import connection

from config.common import db_outage

_passed_once: set[str] = set()


def problems() -> dict[str, str]:
    """Check name -> what is wrong; empty when ready. Runs on a pool thread (ORM and blocking I/O)."""
    if db_outage.database_down():
        return {"database": "unreachable"}
    found = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 (any driver error: not ready)
        return {"database": f"unreachable ({exc.__class__.__name__})"}
    if "migrations" not in _passed_once:
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            found["migrations"] = f"{len(pending)} not applied (run manage.py migrate)"
        else:
            _passed_once.add("migrations")
    if "vector" not in _passed_once:
        from config import startup, vector_check

        try:
            startup.check_database()
            _passed_once.add("vector")
        except vector_check.VectorCheckFailed as exc:
            found["vector"] = str(exc)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => %s)",
                       [settings.INGEST_STALLED_SECONDS])
        if cursor.fetchone()[0] == 0:
            found["workers"] = "no live ingestion worker (uploads would wait)"
    if settings.REDIS_URL:
        from django.core.cache import cache

        try:
            cache.set("gateway:ready", 1, 5)
        except Exception as exc:  # noqa: BLE001
            found["redis"] = f"unreachable ({exc.__class__.__name__})"
    return found
