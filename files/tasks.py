from django.conf import settings
from procrastinate import JobContext, RetryStrategy
from procrastinate.contrib.django import app

from files import services, vector_index


@app.task(queue="ingest", retry=RetryStrategy(max_attempts=3, wait=2))
def process_file(file_id: str) -> None:
    services.process(file_id)


@app.periodic(cron=f"* * * * * */{settings.INGEST_RECOVERY_SECONDS}")
@app.task(queue="ingest", queueing_lock="recover_stalled_jobs", pass_context=True)
async def recover_stalled_jobs(context: JobContext, timestamp: int) -> None:
    """Requeue jobs whose worker died (no heartbeat for INGEST_STALLED_SECONDS): a killed worker or
    a restarted machine never leaves a file stuck in `processing`."""
    manager = context.app.job_manager
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=settings.INGEST_STALLED_SECONDS):
        await manager.retry_job(job)


@app.periodic(cron="*/5 * * * *")
@app.task(queue="ingest", queueing_lock="repair_vector_indexes")
def repair_vector_indexes(timestamp: int) -> None:
    """Rebuild dimension indexes that a dead build left invalid, even if no file of that dimension comes
    (ingestion repairs its own dimension's index at once)."""
    vector_index.repair()
