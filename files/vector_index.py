"""One HNSW cosine index per embedding dimension. The `embedding` column is untyped (models differ in
dimension, and a file keeps its real one), and pgvector can only index a typed expression, so each
dimension in use gets a partial expression index `(embedding::vector(N)) WHERE dimensions = N`
(`halfvec(N)` above 2,000 dimensions, the `vector` HNSW limit). Queries use the same expression."""

import logging
from contextlib import nullcontext

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Func
from pgvector import HalfVector
from pgvector.django import CosineDistance, HalfVectorField, VectorField

VECTOR_MAX = 2000  # HNSW limit for vector
HALFVEC_MAX = 4000  # HNSW limit for halfvec
PREFIX = "chunk_embedding_hnsw_"

logger = logging.getLogger(__name__)


def indexable(dimensions: int) -> bool:
    return 0 < dimensions <= HALFVEC_MAX


def _type(dimensions: int) -> str:
    return f"vector({dimensions})" if dimensions <= VECTOR_MAX else f"halfvec({dimensions})"


def _valid(cursor, name: str) -> bool | None:
    """Whether the index is usable; None when it does not exist."""
    cursor.execute("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                   "WHERE c.relname = %s AND pg_table_is_visible(c.oid)", [name])
    row = cursor.fetchone()
    return None if row is None else row[0]


def ensure(dimensions: int) -> None:
    """Make sure the index for `dimensions` exists and is valid (one catalog lookup when it is).

    A concurrent build that dies (a killed worker, a restarted database) leaves an invalid index that
    is never used for searches, and `IF NOT EXISTS` would keep it forever: it is dropped and built
    again. Builders hold an advisory lock, so an index still being built (also invalid until done)
    is told apart from a dead build's leftover."""
    if not indexable(dimensions):
        return
    name = f"{PREFIX}{int(dimensions)}"
    with connection.cursor() as cursor:
        if _valid(cursor, name):
            return
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [name])
        if not cursor.fetchone()[0]:
            return  # another process is building it; searches are exact until then
        try:
            _build(cursor, name, dimensions)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [name])


def _build(cursor, name: str, dimensions: int) -> None:
    ops = "vector_cosine_ops" if dimensions <= VECTOR_MAX else "halfvec_cosine_ops"
    # Outside a transaction (the worker) the build does not block other writers; inside one, a savepoint
    # keeps a failure from spoiling the caller's transaction.
    in_transaction = connection.in_atomic_block
    concurrently = "" if in_transaction else "CONCURRENTLY"
    try:
        with transaction.atomic() if in_transaction else nullcontext():
            state = _valid(cursor, name)
            if state:
                return
            if state is False:
                logger.warning("Rebuilding the invalid vector index %s (a build was interrupted)", name)
                cursor.execute(f"DROP INDEX {concurrently} IF EXISTS {name}")
            # pgvector builds the graph in memory when it fits in maintenance_work_mem, many times
            # faster than the on-disk build Postgres's 64 MB default forces from ~20k × 768 vectors on
            cursor.execute("SELECT set_config('maintenance_work_mem', %s, %s)", [settings.VECTOR_INDEX_BUILD_MEMORY, in_transaction])
            try:
                cursor.execute(
                    f"CREATE INDEX {concurrently} IF NOT EXISTS {name} ON files_chunk "
                    f"USING hnsw ((embedding::{_type(dimensions)}) {ops}) WHERE dimensions = {int(dimensions)}"
                )
            finally:
                if not in_transaction:
                    cursor.execute("RESET maintenance_work_mem")
    except DatabaseError as exc:  # the next ingestion (or `repair`) tries again; searches are exact until then
        logger.warning("Could not build the vector index %s: %s", name, exc)


def repair() -> list[int]:
    """Rebuild every invalid dimension index (left by builds that died); returns their dimensions."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                       "WHERE NOT i.indisvalid AND c.relname ~ %s AND pg_table_is_visible(c.oid)", [f"^{PREFIX}[0-9]+$"])
        dimensions = [int(row[0].removeprefix(PREFIX)) for row in cursor.fetchall()]
    for n in dimensions:
        ensure(n)
    return dimensions


def cosine_distance(vector: list[float]) -> CosineDistance:
    """Distance to `vector` written as the index expression of its dimension, so the index serves it."""
    dimensions = len(vector)
    if dimensions <= VECTOR_MAX:
        field, query = VectorField(dimensions=dimensions), vector
    else:
        field, query = HalfVectorField(dimensions=dimensions), HalfVector(vector)
    typed = Func("embedding", template=f"(%(expressions)s)::{_type(dimensions)}", output_field=field)
    return CosineDistance(typed, query)
