"""Chunks written with one binary COPY, on Django's connection and inside its transaction.

Row-by-row parameter binding (the ORM's bulk_create) of thousands of vectors is most of an ingest's
time; binary COPY sends each row's values in their wire format. Rows go out as they come (psycopg
sends every 32 KB), so Postgres computes the rows' full-text vectors, its biggest share of a load,
on its own core while the caller waits for the next embeddings: a file's 1,090 rows at 768
dimensions took 0.5 s written 1,000 at a time after their vectors, 0.3 s streamed (bench.ingest). The `embedding` column is untyped
(pgvector's `vector` of any dimension), so its dumper is registered by the type's OID, on the COPY's
own cursor only: Django's connection keeps reading vectors as it always did."""

import os
import struct
import sys
import threading
import uuid
from array import array
from collections.abc import Iterable, Iterator

from django.db import connection
from psycopg.adapt import Dumper
from psycopg.pq import Format

TABLE = "files_chunk"
COLUMNS = ("id", "file_id", "position", "text", "metadata", "embedding", "embedding_model", "dimensions")
TYPES = ("uuid", "uuid", "int4", "text", "jsonb", None, "text", "int4")  # None: the vector type's OID

Row = tuple[uuid.UUID, uuid.UUID, int, str, dict, array | None, str, int | None]


class VectorBinaryDumper(Dumper):
    """pgvector's binary format: uint16 dimensions, uint16 unused (0), then float32s, big-endian."""

    format = Format.BINARY

    def dump(self, obj: array) -> bytes:
        values = array("f", obj)  # a copy: byteswap works in place
        if sys.byteorder == "little":
            values.byteswap()
        return struct.pack(">HH", len(values), 0) + values.tobytes()


def _random_ids() -> Iterator[uuid.UUID]:
    """Version 4 uuids, as uuid4() makes them, from one os.urandom call per 1,024. uuid4() calls it
    for each id, and each call lets go of the GIL: with the embedding threads holding it, the
    writing thread waited for it again at every row (a ninth of a 10 MB load's time, py-spy)."""
    while True:
        pool = os.urandom(16 * 1024)
        for start in range(0, len(pool), 16):
            yield uuid.UUID(bytes=pool[start:start + 16], version=4)


_local = threading.local()  # a generator per thread: jobs write files in threads of their own


def _next_id() -> uuid.UUID:
    if not hasattr(_local, "ids"):
        _local.ids = _random_ids()
    return next(_local.ids)


def row(file_id: uuid.UUID, position: int, text: str, metadata: dict, embedding: list[float] | None,
        model: str) -> Row:
    """One chunk's values in COLUMNS order (ids are made here, as the model's default would). The
    vector is packed as float32s: 3 KB a 768-dim vector instead of a list's 25 KB."""
    return (_next_id(), file_id, position, text, metadata, None if embedding is None else array("f", embedding), model,
            len(embedding) if embedding is not None else None)


def write(rows: Iterable[Row]) -> int:
    """COPY the rows into the chunk table as `rows` yields them; returns how many were written. An
    exception from `rows` ends the COPY (Postgres discards it) and propagates."""
    written = 0
    with connection.cursor() as django_cursor, connection.wrap_database_errors:
        cursor = django_cursor.cursor  # the psycopg cursor; errors still surface as Django's
        oid = _vector_oid(cursor)
        cursor.adapters.register_dumper(None, type("VectorDumper", (VectorBinaryDumper,), {"oid": oid}))
        with cursor.copy(f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([oid if t is None else t for t in TYPES])
            for values in rows:
                copy.write_row(values)
                written += 1
    return written


def _vector_oid(cursor) -> int:
    cursor.execute("SELECT 'vector'::regtype::oid")
    return cursor.fetchone()[0]
