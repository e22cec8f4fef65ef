import logging

from django.conf import settings
from django.db import connection
from procrastinate import JobContext
from procrastinate.contrib.django import app
from procrastinate.exceptions import UniqueViolation
from procrastinate.jobs import Status
from procrastinate.manager import QUEUEING_LOCK_CONSTRAINT

from files import keyword_index, services, vector_index

logger = logging.getLogger(__name__)

ATTEMPTS = 3


@app.task(queue="ingest")
def process_file(file_id: str, attempt: int = 1) -> None:
    """Jobs carry the queueing lock `file:<id>` (services.queue). A failed attempt is retried as a new job
    under that lock, not by Procrastinate's retry, which breaks on the lock when another job for the
    file waits (procrastinate#1446): that job then does the work."""
    try:
        services.process(file_id)
    except Exception as exc:
        if attempt < ATTEMPTS:
            services.queue(file_id, attempt=attempt + 1, delay=2)
        else:  # never left `processing` with nothing owning it
            services.mark_failed(file_id, f"Processing failed after {ATTEMPTS} attempts: {exc.__class__.__name__}: {exc}")
        raise


@app.task(queue="ingest")
def finish_indexes(dimensions: int = 0, keywords: bool = False) -> None:
    """A big load's index work, after its file says completed (services.queue_index_work); then the
    table's statistics, so that the planner and the keyword side's common words (retrieval._terms)
    know the load now rather than at autovacuum's next turn."""
    if keywords:
        keyword_index.merge()
    if dimensions:
        vector_index.ensure(dimensions)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE files_chunk")


@app.periodic(cron=f"* * * * * */{settings.INGEST_RECOVERY_SECONDS}")
@app.task(queue="ingest", queueing_lock="recover_stalled_jobs", pass_context=True)
async def recover_stalled_jobs(context: JobContext, timestamp: int) -> None:
    """Requeue jobs whose worker died (no heartbeat for INGEST_STALLED_SECONDS): a killed worker or
    a restarted machine never leaves a file stuck in `processing`."""
    manager = context.app.job_manager
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=settings.INGEST_STALLED_SECONDS):
        try:
            await manager.retry_job(job)
        except UniqueViolation as exc:  # a newer job for the same file waits and will do the work
            if exc.constraint_name != QUEUEING_LOCK_CONSTRAINT:
                raise
            logger.info("Stalled job %s superseded by a waiting job for %s", job.id, job.queueing_lock)
            await manager.finish_job(job, status=Status.ABORTED, delete_job=False)


@app.periodic(cron=f"* * * * * */{settings.INGEST_RECOVERY_SECONDS}")
@app.task(queue="ingest", queueing_lock="requeue_orphaned_files")
def requeue_orphaned_files(timestamp: int) -> None:
    """Files left `pending` or `processing` with no job (see services.requeue_orphans) are queued again."""
    services.requeue_orphans(settings.INGEST_ORPHAN_SECONDS)


@app.periodic(cron="*/5 * * * *")
@app.task(queue="ingest", queueing_lock="repair_vector_indexes")
def repair_vector_indexes(timestamp: int) -> None:
    """Rebuild dimension indexes that a dead build left invalid, even if no file of that dimension comes
    (ingestion repairs its own dimension's index at once)."""
    vector_index.repair()
