"""Chunks written with binary COPY, in batches, on Django's connection and inside its transaction.

Row-by-row parameter binding (the ORM's bulk_create) of thousands of vectors is most of an ingest's
time; binary COPY sends each row's values in their wire format. The `embedding` column is untyped
(pgvector's `vector` of any dimension), so its dumper is registered by the type's OID, on the COPY's
own cursor only: Django's connection keeps reading vectors as it always did."""

import struct
import sys
import uuid
from array import array
from collections.abc import Iterable

from django.db import connection
from psycopg.adapt import Dumper
from psycopg.pq import Format

TABLE = "files_chunk"
COLUMNS = ("id", "file_id", "position", "text", "metadata", "embedding", "embedding_model", "dimensions")
TYPES = ("uuid", "uuid", "int4", "text", "jsonb", None, "text", "int4")  # None: the vector type's OID
BATCH = 1000  # rows a COPY statement

Row = tuple[uuid.UUID, uuid.UUID, int, str, dict, array | None, str, int | None]


class VectorBinaryDumper(Dumper):
    """pgvector's binary format: uint16 dimensions, uint16 unused (0), then float32s, big-endian."""

    format = Format.BINARY

    def dump(self, obj: array) -> bytes:
        values = array("f", obj)  # a copy: byteswap works in place
        if sys.byteorder == "little":
            values.byteswap()
        return struct.pack(">HH", len(values), 0) + values.tobytes()


def row(file_id: uuid.UUID, position: int, text: str, metadata: dict, embedding: list[float] | None,
        model: str) -> Row:
    """One chunk's values in COLUMNS order (ids are made here, as the model's default would). The
    vector is packed as float32s: a batch holds 3 KB a 768-dim vector instead of a list's 25 KB."""
    return (uuid.uuid4(), file_id, position, text, metadata, None if embedding is None else array("f", embedding), model,
            len(embedding) if embedding is not None else None)


def write(rows: Iterable[Row]) -> int:
    """COPY the rows into the chunk table, BATCH at a time; returns how many were written."""
    written = 0
    batch: list[Row] = []
    with connection.cursor() as django_cursor, connection.wrap_database_errors:
        cursor = django_cursor.cursor  # the psycopg cursor; errors still surface as Django's
        oid = _vector_oid(cursor)
        cursor.adapters.register_dumper(None, type("VectorDumper", (VectorBinaryDumper,), {"oid": oid}))
        types = [oid if t is None else t for t in TYPES]
        for values in rows:
            batch.append(values)
            if len(batch) >= BATCH:
                written += _copy(cursor, types, batch)
                batch = []
        if batch:
            written += _copy(cursor, types, batch)
    return written


def _copy(cursor, types: list, batch: list[Row]) -> int:
    with cursor.copy(f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for values in batch:
            copy.write_row(values)
    return len(batch)


def _vector_oid(cursor) -> int:
    cursor.execute("SELECT 'vector'::regtype::oid")
    return cursor.fetchone()[0]
