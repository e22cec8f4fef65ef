"""One HNSW cosine index per embedding dimension. The `embedding` column is untyped (models differ in
dimension, and a file keeps its real one), and pgvector can only index a typed expression, so each
dimension in use gets a partial expression index `(embedding::vector(N)) WHERE dimensions = N`
(`halfvec(N)` above 2,000 dimensions, the `vector` HNSW limit). Queries use the same expression."""

from contextlib import nullcontext

from django.db import DatabaseError, connection, transaction
from django.db.models import Func
from pgvector import HalfVector
from pgvector.django import CosineDistance, HalfVectorField, VectorField

VECTOR_MAX = 2000  # HNSW limit for vector
HALFVEC_MAX = 4000  # HNSW limit for halfvec

_known: set[int] = set()


def indexable(dimensions: int) -> bool:
    return 0 < dimensions <= HALFVEC_MAX


def _type(dimensions: int) -> str:
    return f"vector({dimensions})" if dimensions <= VECTOR_MAX else f"halfvec({dimensions})"


def ensure(dimensions: int) -> None:
    """Create the index for `dimensions` if it does not exist yet (cheap when it does)."""
    if dimensions in _known or not indexable(dimensions):
        return
    ops = "vector_cosine_ops" if dimensions <= VECTOR_MAX else "halfvec_cosine_ops"
    # Outside a transaction (the worker) the build does not block other writers; inside one, a savepoint
    # keeps a lost race from spoiling the caller's transaction.
    in_transaction = connection.in_atomic_block
    try:
        with transaction.atomic() if in_transaction else nullcontext(), connection.cursor() as cursor:
            cursor.execute(
                f"CREATE INDEX {'' if in_transaction else 'CONCURRENTLY'} IF NOT EXISTS "
                f"chunk_embedding_hnsw_{dimensions} ON files_chunk "
                f"USING hnsw ((embedding::{_type(dimensions)}) {ops}) WHERE dimensions = {int(dimensions)}"
            )
    except DatabaseError:  # another process is creating it at this moment; searches are exact until then
        return
    _known.add(dimensions)


def cosine_distance(vector: list[float]) -> CosineDistance:
    """Distance to `vector` written as the index expression of its dimension, so the index serves it."""
    dimensions = len(vector)
    if dimensions <= VECTOR_MAX:
        field, query = VectorField(dimensions=dimensions), vector
    else:
        field, query = HalfVectorField(dimensions=dimensions), HalfVector(vector)
    typed = Func("embedding", template=f"(%(expressions)s)::{_type(dimensions)}", output_field=field)
    return CosineDistance(typed, query)


def forget() -> None:
    """Drop this process's memory of existing indexes (after tests truncate or drop them)."""
    _known.clear()
