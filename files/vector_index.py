"""One HNSW cosine index per embedding dimension. The `embedding` column is untyped (models differ in
dimension, and a file keeps its real one), and pgvector can only index a typed expression, so each
dimension in use gets a partial expression index `(embedding::vector(N)) WHERE dimensions = N`
(`halfvec(N)` above 2,000 dimensions, the `vector` HNSW limit). Queries use the same expression."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Func
from pgvector import HalfVector
from pgvector.django import CosineDistance, HalfVectorField, VectorField

VECTOR_MAX = 2000  # HNSW limit for vector
HALFVEC_MAX = 4000  # HNSW limit for halfvec
PREFIX = "chunk_embedding_hnsw_"
# A load of at least VECTOR_INDEX_REBUILD_MIN_ROWS vectors, when the dimension's index holds at most
# REBUILD_SHARE times as many, drops the index and builds it again over everything rather than
# inserting each vector into the graph (see `loading`; the figures: bench/index_feed.py, README).
REBUILD_SHARE = 2.0

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


def _name(dimensions: int) -> str:
    return f"{PREFIX}{int(dimensions)}"


@contextmanager
def loading(dimensions: int, rows: int, loaded: Callable[[], None] | None = None,
            build_later: Callable[[int], None] | None = None) -> Iterator[None]:
    """Around writing `rows` vectors of `dimensions` (the caller's transaction inside, committed before
    this exits); the index is valid and holds them when it exits. `loaded()` runs once the load is in,
    before the index is built (searches are exact, and correct, until it is). With `build_later`, an
    index dropped for the load is left to `build_later(dimensions)` (a job: whoever builds first,
    that or another load's `ensure`, holds the builders' lock; the others skip).

    Inserting a vector into an HNSW graph costs several times its share of building the graph at once
    (bench/index_feed.py), so when the load is big next to what the index holds, the index is dropped
    (concurrently: searches go on) and built once after the load, over everything. The builders'
    advisory lock is held all the while, so no other process builds it meanwhile (a small file of the
    same dimension completing then is not held up behind this load's transaction); until then that
    dimension's searches are exact, over the few rows the index held (correct; bounded by REBUILD_SHARE)."""
    name = _name(dimensions)
    held = indexable(dimensions) and rows >= settings.VECTOR_INDEX_REBUILD_MIN_ROWS and not connection.in_atomic_block and _small(name, dimensions, rows)
    if held:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [name])
            held = cursor.fetchone()[0]  # else another process builds it: this load goes in unindexed
            if held:
                try:
                    cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
                except BaseException:
                    _unlock(name)
                    raise
    try:
        yield
    except BaseException:
        if held:  # the load failed: the index comes back over what was there
            with suppress(DatabaseError):
                ensure(dimensions)
            with suppress(DatabaseError):
                _unlock(name)
        raise
    try:
        if loaded is not None:
            loaded()
    finally:
        if held and build_later is not None:
            _unlock(name)
            build_later(dimensions)
        else:
            try:
                ensure(dimensions)  # advisory locks are reentrant: this build goes ahead while we hold it
            finally:
                if held:
                    _unlock(name)


def _small(name: str, dimensions: int, rows: int) -> bool:
    """Whether the index is missing, invalid, or holds at most REBUILD_SHARE × `rows` rows (counted up
    to that bound: Postgres's own count, reltuples, is unknown after a TRUNCATE until a vacuum)."""
    bound = int(REBUILD_SHARE * rows)
    with connection.cursor() as cursor:
        if _valid(cursor, name):
            cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM files_chunk WHERE dimensions = %s LIMIT {bound + 1}) c",
                           [dimensions])
            return cursor.fetchone()[0] <= bound
    return True


def _unlock(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [name])


def ensure(dimensions: int) -> None:
    """Make sure the index for `dimensions` exists and is valid (one catalog lookup when it is).

    A concurrent build that dies (a killed worker, a restarted database) leaves an invalid index that
    is never used for searches, and `IF NOT EXISTS` would keep it forever: it is dropped and built
    again. Builders hold an advisory lock, so an index still being built (also invalid until done)
    is told apart from a dead build's leftover."""
    if not indexable(dimensions):
        return
    name = _name(dimensions)
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
