"""GET /metrics (Prometheus text format): for an admin's bearer token, or `Bearer $METRICS_TOKEN`.
The hot-path metrics are config.common.metrics'; the values read here at scrape time, with a few
cheap queries, are the ingestion queue (depth, oldest pending job's age), files by status, live
ingestion workers, and this process's database pool (in use, waiting)."""

import hmac

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from prometheus_client.core import GaugeMetricFamily

from accounts.async_views import authenticated
from config.common import metrics
from config.common import wire_schema as wire
from config.common.db import db_call
from config.common.http import endpoint
from config.common.schema import documented

QUEUE_SQL = """
SELECT count(*), coalesce(extract(epoch FROM now() - min(
    (SELECT min(e.at) FROM procrastinate_events e WHERE e.job_id = j.id AND e.type = 'deferred'))), 0)
FROM procrastinate_jobs j WHERE j.status = 'todo'"""
FILES_SQL = "SELECT status, count(*) FROM files_file GROUP BY status"
WORKERS_SQL = "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => %s)"
FILE_STATUSES = ("", "pending", "processing", "completed", "failed")


def database_metrics():
    """The scrape-time gauges (on a pool thread)."""
    with connection.cursor() as cursor:
        cursor.execute(QUEUE_SQL)
        depth, oldest = cursor.fetchone()
        cursor.execute(FILES_SQL)
        files = dict.fromkeys(FILE_STATUSES, 0) | dict(cursor.fetchall())
        cursor.execute(WORKERS_SQL, [settings.INGEST_STALLED_SECONDS])
        workers = cursor.fetchone()[0]
    yield GaugeMetricFamily("gateway_ingestion_queue_depth", "Ingestion jobs waiting to run", value=depth)
    yield GaugeMetricFamily("gateway_ingestion_oldest_pending_seconds", "Age of the oldest waiting ingestion job "
                            "(0: none)", value=float(oldest))
    by_status = GaugeMetricFamily("gateway_files", "Files by processing status (none: uploaded with process=false)",
                                  labels=["status"])
    for status, count in sorted(files.items()):
        by_status.add_metric([status or "none"], count)
    yield by_status
    yield GaugeMetricFamily("gateway_ingestion_workers_alive", "Ingestion workers with a recent heartbeat",
                            value=workers)
    pool = getattr(connection, "pool", None)
    if pool is not None:
        stats = pool.get_stats()
        in_use = stats.get("pool_size", 0) - stats.get("pool_available", 0)
        yield GaugeMetricFamily("gateway_db_pool_in_use", "Database connections lent out (this process)",
                                value=in_use)
        yield GaugeMetricFamily("gateway_db_pool_waiting", "Requests waiting for a database connection "
                                "(this process)", value=stats.get("requests_waiting", 0))


metrics.add_collector(database_metrics)
_render = db_call(metrics.render)


async def _scrape(request):
    return HttpResponse(await _render(), content_type=metrics.CONTENT_TYPE)


_for_admin = authenticated("admin")(_scrape)


@documented(get={"responses": {(200, "text/plain"): OpenApiTypes.STR, (401, "application/json"): wire.Detail},
                  "summary": "Prometheus metrics (an admin's bearer token, or METRICS_TOKEN)"})
@endpoint("GET")
async def metrics_view(request):
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return await _scrape(request)
    return await _for_admin(request)
