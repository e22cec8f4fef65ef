"""How far a file's processing is. The job writes its chunks in one transaction (a re-run replaces
them atomically), so its progress goes through a connection of its own, at most every INTERVAL
seconds (the final count after the transaction, on the job's own); readers derive the percentage
and an estimate of the time left from the stored counts."""

import time

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from files.models import File

INTERVAL = 0.5  # seconds between progress writes


def start(file_id, total: int) -> None:
    """Outside the job's transaction: the file has `total` chunks to embed and write."""
    File.objects.filter(id=file_id).update(progress_done=0, progress_total=total, processing_started_at=timezone.now())


class Reporter:
    """Counts chunks written inside the job's transaction and publishes the count on a side connection."""

    def __init__(self, file_id):
        self.file_id = file_id
        self.done = 0
        self._written_at = time.monotonic()
        self._db = None  # opened at the first write: a file done within INTERVAL never needs it (a connection is 10 ms)

    def advance(self, count: int = 1) -> None:
        self.done += count
        if time.monotonic() - self._written_at >= INTERVAL:
            self._written_at = time.monotonic()
            if self._db is None:
                self._db = connections.create_connection(DEFAULT_DB_ALIAS)
            with self._db.cursor() as cursor:
                self._write(cursor)

    def close(self) -> None:
        """The final count, on the caller's connection (the load's transaction is over by now); not
        after a failure that left a transaction to roll back, whose error must be the one raised."""
        try:
            connection = connections[DEFAULT_DB_ALIAS]
            if not connection.needs_rollback:
                with connection.cursor() as cursor:
                    self._write(cursor)
        finally:
            if self._db is not None:
                self._db.close()

    def _write(self, cursor) -> None:
        cursor.execute(f"UPDATE {File._meta.db_table} SET progress_done = %s WHERE id = %s", [self.done, self.file_id])


def describe(file: File) -> dict | None:
    """`{"done", "total", "percent", "eta_seconds"}` while the file is processing, else None. The
    estimate assumes the rate so far holds (None until the first chunks are written)."""
    if file.status != File.Status.PROCESSING or not file.progress_total:
        return None
    done, total = min(file.progress_done, file.progress_total), file.progress_total
    eta = None
    if done and file.processing_started_at:
        elapsed = (timezone.now() - file.processing_started_at).total_seconds()
        eta = round(elapsed / done * (total - done), 1)
    return {"done": done, "total": total, "percent": round(100 * done / total, 1), "eta_seconds": eta}
