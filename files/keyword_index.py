"""The chunks' full-text index (GIN over the generated `search` column) during big loads.

GIN takes new entries into a pending list and merges it into the index when it outgrows
`gin_pending_list_limit` (4 MB): a 10 MB text file's entries fill it several times, and each merge
runs inside the load, before the file can say completed (0.8 of its 2.2 s COPY, measured at 10,800
chunks). A big load lets its entries wait in the list (up to PENDING_LIMIT) and merges them once,
after the file says completed. Searches read the pending list meanwhile: correct, and a few
milliseconds slower (a 1,000-chunk keyword search 2.6 -> 6.2 ms p50 with a 10 MB file pending)."""

import logging

from django.conf import settings
from django.db import DatabaseError, connection

NAME = "chunk_search_gin"
PENDING_LIMIT = "64MB"

logger = logging.getLogger(__name__)


def big(rows: int) -> bool:
    return rows >= settings.KEYWORD_INDEX_DEFER_MIN_ROWS


def defer_merge() -> None:
    """In the load's transaction: its entries wait in the pending list (up to PENDING_LIMIT)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('gin_pending_list_limit', %s, true)", [PENDING_LIMIT])


def merge() -> None:
    """Move the pending entries into the index now (also any other load's)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [NAME])
    except DatabaseError as exc:  # autovacuum, or the next big load, merges them
        logger.warning("Could not merge the keyword index's pending entries: %s", exc)
