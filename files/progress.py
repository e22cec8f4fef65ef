"""How far a file's processing is. The job writes its chunks in one transaction (a re-run replaces
them atomically), so its progress goes through a connection of its own, at most every INTERVAL
seconds; readers derive the percentage and an estimate of the time left from the stored counts."""

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
        self._db = connections.create_connection(DEFAULT_DB_ALIAS)

    def advance(self, count: int = 1) -> None:
        self.done += count
        if time.monotonic() - self._written_at >= INTERVAL:
            self._write()

    def close(self) -> None:
        try:
            self._write()
        finally:
            self._db.close()

    def _write(self) -> None:
        self._written_at = time.monotonic()
        with self._db.cursor() as cursor:
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
