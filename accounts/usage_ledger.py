"""The usage ledger's writer: `record` puts a row in a bounded in-memory queue (no I/O on the request
path); a daemon thread writes what is queued in one bulk INSERT every USAGE_FLUSH_SECONDS, or sooner
when BATCH rows wait. At exit (the drain on SIGTERM, a normal shutdown, the worker stopping) what is
left is written, so a crash loses at most the last USAGE_FLUSH_SECONDS of rows. More than
USAGE_QUEUE_MAX rows waiting (the database unreachable for long): the oldest are dropped, logged."""

import atexit
import logging
import threading
from collections import deque

from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, connections

from accounts.models import ModelPrice, UsageRecord
from config import drain

log = logging.getLogger("gateway.usage")
BATCH = 500

_queue: deque[dict] = deque()
_wake = threading.Event()
_lock = threading.Lock()  # one writer at a time (the thread, or `flush` at exit)
_thread: threading.Thread | None = None
dropped = 0


def record(row: dict) -> None:
    """Queue a row (UsageRecord's fields); it is written within USAGE_FLUSH_SECONDS."""
    global dropped
    if len(_queue) >= settings.USAGE_QUEUE_MAX:
        _queue.popleft()
        dropped += 1
        if dropped % 1000 == 1:
            log.error("usage ledger: the queue is full; %s rows dropped so far", dropped)
    _queue.append(row)
    if _thread is None:
        _start()
    if len(_queue) >= BATCH:
        _wake.set()


def _start() -> None:
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_run, name="usage-ledger", daemon=True)
            _thread.start()
            atexit.register(flush)
            drain.at_exit(flush)


def _run() -> None:
    while True:
        _wake.wait(settings.USAGE_FLUSH_SECONDS)
        _wake.clear()
        try:
            flush()
        except Exception:  # the writer outlives any one failure: a dead thread would write nothing more
            log.exception("usage ledger: a flush failed")


def flush() -> int:
    """Write every queued row now; returns how many were written. Rows that fail to write go back to
    the queue (the next flush tries again); a row that is no UsageRecord (a bug) or that the database
    refuses (a token count out of an integer's range, say) is logged and dropped alone, so it never
    holds up the others (the batch would be refused again at every flush)."""
    global dropped
    written = 0
    with _lock:
        try:
            while _queue:
                rows, batch = [], []
                for row in (_queue.popleft() for _ in range(min(BATCH, len(_queue)))):
                    try:
                        batch.append(UsageRecord(**row))
                        rows.append(row)
                    except (TypeError, ValueError):
                        dropped += 1
                        log.exception("usage ledger: a row that is no usage record was dropped: %r", row)
                try:
                    _price(batch)
                    UsageRecord.objects.bulk_create(batch)
                    written += len(batch)
                    continue
                except (DataError, IntegrityError):  # a row refused: the others are written apart
                    done, kept = _write_apart(batch, rows)
                except DatabaseError as exc:
                    log.warning("usage ledger: write failed: %s", exc)
                    done, kept = 0, rows
                written += done
                if kept:
                    _queue.extendleft(reversed(kept))
                    log.warning("usage ledger: %s rows kept for the next try", len(kept))
                    break
        finally:
            connections.close_all()  # this thread's connection, back to the pool
    return written


def _write_apart(batch: list[UsageRecord], rows: list[dict]) -> tuple[int, list[dict]]:
    """The batch a row of which the database refused, written row by row: how many were written, and
    the rows left when the database failed otherwise (to keep for the next flush)."""
    global dropped
    written = 0
    for n, (record, row) in enumerate(zip(batch, rows)):
        try:
            UsageRecord.objects.bulk_create([record])
            written += 1
        except (DataError, IntegrityError):
            dropped += 1
            log.exception("usage ledger: a row the database refuses was dropped: %r", row)
        except DatabaseError:
            return written, rows[n:]
    return written, []


def _price(batch: list[UsageRecord]) -> None:
    """The cost of rows recorded without one (synchronous callers price nothing on their thread)."""
    unpriced = {row.model for row in batch if row.cost is None}
    if not unpriced:
        return
    prices = {p.model: p for p in ModelPrice.objects.filter(model__in=unpriced)}
    for row in batch:
        price = prices.get(row.model) if row.cost is None else None
        if price is not None:
            row.cost = (row.prompt_tokens * price.input_per_million + row.completion_tokens * price.output_per_million) / 1_000_000


def pending() -> int:
    return len(_queue)
