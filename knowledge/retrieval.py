"""Retrieval over files.Chunk, filtered to a set of files. Keyword search is Postgres full text
(the zero-set-up path, DECISIONS #17); vector search uses the dimension's HNSW index; hybrid fuses
both by reciprocal rank."""

import json
import re
import time
from dataclasses import dataclass, replace

from django.db import connection, transaction
from pgvector import Vector
from pgvector.django import CosineDistance

from config.common.db import in_parallel
from files import vector_index
from files.models import Chunk

_WORD = re.compile(r"\w+", re.UNICODE)

RRF_K = 60  # reciprocal rank fusion constant
COMMON = 0.05  # a term in more than this share of all chunks says little about relevance
CANDIDATES = 500  # keyword matches ranked at most, per tier (all terms / any term)
STATS_SECONDS = 300.0
EXACT_MAX = 5000  # chunks in scope up to which vector search is an exact scan


@dataclass(frozen=True)
class Hit:
    id: str
    text: str
    metadata: dict
    score: float
    relevance: float | None = None  # (1 + cosine) / 2 when the query has a vector


def search(file_ids, query: str, vector: list[float] | None, model: str, k: int, *,
           hybrid: bool = True, keyword_weight: float = 0.5, threshold: float = 0.0) -> list[Hit]:
    """The best `k` chunks: keywords alone without a vector, vectors alone when `hybrid` is off,
    else both fused. With a vector, chunks whose relevance is under `threshold` are dropped."""
    if not file_ids:
        return []
    if not vector:
        return keyword_search(file_ids, query, k)
    if not hybrid:
        hits = vector_search(file_ids, vector, model, k)
    else:  # both searches at once, on two connections
        keyword = in_parallel(keyword_search, file_ids, query, k * 4, vector, model)
        nearest = vector_search(file_ids, vector, model, k * 4)
        hits = _fuse(keyword.result(), nearest, keyword_weight, k)
    return [h for h in hits if h.relevance is None or h.relevance >= threshold]


def _fuse(keyword: list[Hit], nearest: list[Hit], keyword_weight: float, k: int) -> list[Hit]:
    fused: dict[str, float] = {}
    hits: dict[str, Hit] = {}
    for results, weight in ((keyword, keyword_weight), (nearest, 1 - keyword_weight)):
        for rank, hit in enumerate(results):
            fused[hit.id] = fused.get(hit.id, 0.0) + 2 * weight / (RRF_K + rank + 1)
            hits.setdefault(hit.id, hit)
    ranked = sorted(fused, key=fused.get, reverse=True)[:k]
    return [replace(hits[i], score=round(fused[i], 6)) for i in ranked]


_stats: tuple[float, dict[str, float]] = (float("-inf"), {})


def _term_frequencies() -> dict[str, float]:
    """Share of chunks holding each of the most common terms, from the planner's statistics on the
    full-text column (kept fresh by autovacuum's ANALYZE; read at most every STATS_SECONDS)."""
    global _stats
    if time.monotonic() - _stats[0] > STATS_SECONDS:
        with connection.cursor() as cursor:
            cursor.execute("SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
                           "WHERE tablename = 'files_chunk' AND attname = 'search'")
            row = cursor.fetchone()
        _stats = (time.monotonic(), dict(zip(row[0], row[1])) if row and row[0] else {})
    return _stats[1]


def _terms(text: str) -> list[str]:
    """The query's words minus those in most chunks (stop words, in any language, found from the data);
    the least common word is kept should all be common."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))[:64]
    if not words:
        return []
    frequency = _term_frequencies()
    return [w for w in words if frequency.get(w, 0.0) <= COMMON] or [min(words, key=lambda w: frequency.get(w, 0.0))]


def keyword_search(file_ids, query: str, k: int, vector: list[float] | None = None, model: str = "") -> list[Hit]:
    """Chunks holding any of the query's telling words, ranked by ts_rank. At most CANDIDATES rows
    holding all of them and as many holding any are ranked, so common words cannot make a query
    rank the whole collection. With `vector` (of `model`), each hit carries its relevance."""
    terms = _terms(query)
    if not terms or not file_ids:
        return []
    tiers = [" | ".join(terms)] + ([" & ".join(terms)] if len(terms) > 1 else [])
    # ts_rank, not ts_rank_cd: 8x faster over thousands of matches (measured), same ordering in practice
    tier = ("(SELECT id, text, metadata, position, embedding, dimensions, embedding_model, "
            "ts_rank(search, to_tsquery('simple', %s), 32) AS rank "
            "FROM files_chunk WHERE file_id = ANY(%s::uuid[]) AND search @@ to_tsquery('simple', %s) LIMIT %s)")
    # the distance only for the rows kept: each one reads a vector stored out of line (3 KB at 768 dimensions)
    sql = ("SELECT id, text, metadata, rank, "
           "CASE WHEN dimensions = %s AND embedding_model = %s THEN embedding <=> %s::vector END "
           f"FROM (SELECT * FROM ({' UNION ALL '.join([tier] * len(tiers))}) AS c "
           "ORDER BY rank DESC, position LIMIT %s) AS best ORDER BY rank DESC, position")
    params = [len(vector or ()), model, Vector(vector).to_text() if vector else None]
    params += [p for match in tiers for p in (tiers[0], list(file_ids), match, CANDIDATES)]
    with transaction.atomic(), connection.cursor() as cursor:
        # The planner prices @@ on a row far below its real cost and would rather read the table in order
        # until CANDIDATES rows match (4 us a row, measured); the GIN index finds them at once.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(sql, [*params, 2 * k])
        rows = cursor.fetchall()
    hits = {}
    for i, text, metadata, rank, distance in rows:  # a chunk holding all the words is in both tiers
        metadata = json.loads(metadata) if isinstance(metadata, str) else metadata  # Django leaves jsonb undecoded
        hits.setdefault(i, Hit(str(i), text, metadata, float(rank), _relevance(distance)))
    return list(hits.values())[:k]


def vector_search(file_ids, vector: list[float], model: str, k: int) -> list[Hit]:
    """Nearest chunks by cosine distance among the files' chunks embedded with `model`, through the
    dimension's HNSW index with an iterative scan (which keeps walking the graph until `k` rows pass
    the filter). Should the scan still stop short, an exact search over the filtered set answers, so
    a selective filter never loses results (DECISIONS #9)."""
    dimensions = len(vector)
    chunks = Chunk.objects.filter(file_id__in=file_ids, embedding_model=model, dimensions=dimensions)
    # A small set is read whole: faster than walking the graph for the few rows that pass a selective filter.
    small = Chunk.objects.filter(file_id__in=file_ids).order_by().values("file_id")[:EXACT_MAX + 1].count() <= EXACT_MAX
    if not small and vector_index.indexable(dimensions):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL hnsw.iterative_scan = strict_order")
            cursor.execute(f"SET LOCAL hnsw.ef_search = {min(max(40, 2 * k), 1000)}")
            hits = _nearest(chunks, vector_index.cosine_distance(vector), k)
        if len(hits) == k:
            return hits
    return _nearest(chunks, CosineDistance("embedding", vector), k)


def _nearest(chunks, distance, k: int) -> list[Hit]:
    rows = chunks.annotate(distance=distance).order_by("distance").values_list("id", "text", "metadata", "distance")[:k]
    return [Hit(str(i), text, metadata, _relevance(d), _relevance(d)) for i, text, metadata, d in rows]


def _relevance(distance) -> float | None:
    return None if distance is None else (2 - float(distance)) / 2  # (1 + cos) / 2, as Open WebUI on pgvector
