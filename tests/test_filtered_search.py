"""DECISIONS #9: a filtered search returns k results whenever k exist, even when the filter keeps
1% of the rows (Open WebUI's pgvector store can silently lose them)."""

import asyncio
import random

from accounts.models import User
from files import vector_index
from files.models import Chunk, File
from knowledge import retrieval

SELECTIVE_DIMS = 384  # all-MiniLM-L6-v2
HNSW_DIMS = 768  # nomic-embed-text, bge-base


def _load(dims, *batches):
    """Bulk rows with the dimension's HNSW index built afterwards, as one build (much faster than
    adding 20,000 rows to an existing graph), and statistics as autovacuum would gather them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS chunk_embedding_hnsw_{dims}")
    for rows in batches:
        Chunk.objects.bulk_create(rows, batch_size=1000)
    vector_index.ensure(dims)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE files_chunk")


def _file(user, name):
    return File.objects.create(user=user, filename=name, storage_name=name, file_hash="0" * 64, status="completed")


def test_selective_filter_still_returns_k_nearest(settings):
    user = User.objects.create_user("bulk@example.com", "pw", name="Bulk", role="user")
    big, small = _file(user, "big.txt"), _file(user, "small.txt")
    rng = random.Random(7)

    def rows(file, count):
        return [Chunk(file=file, position=i, text=f"chunk {i}", metadata={"file_id": str(file.id)},
                      embedding=[rng.random() for _ in range(SELECTIVE_DIMS)], embedding_model="m",
                      dimensions=SELECTIVE_DIMS)
                for i in range(count)]

    _load(SELECTIVE_DIMS, rows(big, 19_800), rows(small, 200))
    query = [rng.random() for _ in range(SELECTIVE_DIMS)]
    hits = retrieval.vector_search([str(small.id)], query, "m", 10)
    assert len(hits) == 10
    assert {h.metadata["file_id"] for h in hits} == {str(small.id)}
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    # and they are the true nearest of that file: compare with an exhaustive computation
    import math

    def cos(a, b):
        return sum(x * y for x, y in zip(a, b)) / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))

    exact = sorted(((1 + cos(list(c.embedding), query)) / 2 for c in Chunk.objects.filter(file=small)), reverse=True)[:10]
    assert [round(s, 6) for s in scores] == [round(s, 6) for s in exact]
    # one statement searches a scope read exactly and one that walks the graph (a chat's items), each
    # as it is searched on its own
    both = asyncio.run(retrieval.asearch([[str(small.id)], [], [str(big.id)]], "", _ready(query), "m", 10, hybrid=False))
    assert [[h.id for h in found] for found in both] == [
        [h.id for h in hits], [], [h.id for h in retrieval.vector_search([str(big.id)], query, "m", 10)]]


def _cos(a, b):
    import math

    return sum(x * y for x, y in zip(a, b)) / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def _near(center, rng):
    return [x + rng.gauss(0, 0.35) for x in center]


def _bulk(user, sizes, rng, centers):
    """Real embeddings cluster by topic (uniform noise in 768 dimensions is the one case HNSW cannot
    search well, and no embedding model produces it): each chunk lies near one of the topics."""
    files = [_file(user, f"f{i}.txt") for i in range(len(sizes))]
    _load(HNSW_DIMS, *([Chunk(file=file, position=i, text=f"chunk {i}", metadata={"file_id": str(file.id)},
                              embedding=_near(rng.choice(centers), rng), embedding_model="m", dimensions=HNSW_DIMS)
                        for i in range(count)] for file, count in zip(files, sizes)))
    return files


def test_large_scope_is_served_by_the_dimension_hnsw_index():
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    rng = random.Random(11)
    user = User.objects.create_user("hnsw@example.com", "pw", name="H", role="user")
    centers = [[rng.gauss(0, 1) for _ in range(HNSW_DIMS)] for _ in range(50)]
    scoped, other = _bulk(user, [6_000, 4_000], rng, centers)
    query = _near(centers[7], rng)
    with CaptureQueriesContext(connection) as captured:
        hits = retrieval.vector_search([str(scoped.id)], query, "m", 10)
    assert len(hits) == 10 and {h.metadata["file_id"] for h in hits} == {str(scoped.id)}
    search_sql = next(q["sql"] for q in captured.captured_queries if "<=>" in q["sql"]).rsplit("; ", 1)[-1]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.iterative_scan = strict_order")
        cursor.execute("EXPLAIN " + search_sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"chunk_embedding_hnsw_{HNSW_DIMS}" in plan
    exact = sorted(((1 + _cos(list(c.embedding), query)) / 2 for c in Chunk.objects.filter(file=scoped)), reverse=True)[:10]
    assert len({round(h.score, 6) for h in hits} & {round(s, 6) for s in exact}) >= 8  # approximate, nearly exact


async def _ready(value):
    return value


def test_a_big_file_loaded_since_the_last_analyze_is_searched_through_the_graph():
    """The planner knows nothing of a file loaded since the table's statistics were taken and would
    sort its chunks one by one; a scope known to be big (counted) walks the HNSW graph."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    rng = random.Random(13)
    user = User.objects.create_user("fresh@example.com", "pw", name="F", role="user")
    centers = [[rng.gauss(0, 1) for _ in range(HNSW_DIMS)] for _ in range(20)]
    _bulk(user, [2_000], rng, centers)  # indexed and analyzed
    fresh = _file(user, "fresh.txt")
    Chunk.objects.bulk_create((Chunk(file=fresh, position=i, text=f"chunk {i}", metadata={"file_id": str(fresh.id)},
                                     embedding=_near(rng.choice(centers), rng), embedding_model="m", dimensions=HNSW_DIMS)
                               for i in range(retrieval.EXACT_MAX + 500)), batch_size=1000)  # no ANALYZE since
    query = _near(centers[3], rng)
    with CaptureQueriesContext(connection) as captured:
        hits = retrieval.vector_search([str(fresh.id)], query, "m", 5)
    assert len(hits) == 5 and {h.metadata["file_id"] for h in hits} == {str(fresh.id)}
    settings, statement = next(q["sql"] for q in captured.captured_queries if "<=>" in q["sql"]).rsplit("; ", 1)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(settings)
        cursor.execute("EXPLAIN " + statement)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    walked = plan.split("CTE choice")[0]
    assert f"chunk_embedding_hnsw_{HNSW_DIMS}" in walked and "Sort" not in walked


def test_hybrid_search_fuses_both_sides_as_searched_apart():
    """Both sides run at once, each on its own connection: the fused answer is the one the keyword
    and the vector search give on their own, and the scope holds."""
    rng = random.Random(5)
    user = User.objects.create_user("hybrid@example.com", "pw", name="H", role="user")
    scoped, other = _file(user, "scoped.txt"), _file(user, "other.txt")
    words = [f"word{i}" for i in range(40)]
    Chunk.objects.bulk_create(
        Chunk(file=file, position=i, text=" ".join(rng.choice(words) for _ in range(30)), metadata={"file_id": str(file.id)},
              embedding=[rng.gauss(0, 1) for _ in range(SELECTIVE_DIMS)], embedding_model="m", dimensions=SELECTIVE_DIMS)
        for file in (scoped, other) for i in range(300))
    scope = [str(scoped.id)]
    retrieval.keyword_search(scope, "word1", 1)  # reads the term statistics, then cached STATS_SECONDS
    for n in range(5):
        query, vector = f"word{n} word{n + 7} unknownword", [rng.gauss(0, 1) for _ in range(SELECTIVE_DIMS)]
        hits = retrieval.search(scope, query, vector, "m", 4, keyword_weight=0.3)
        keyword = retrieval.keyword_search(scope, query, 16, vector, "m")
        nearest = retrieval.vector_search(scope, vector, "m", 16)
        assert len(keyword) == len(nearest) == 16
        assert hits == retrieval._fuse(keyword, nearest, 0.3, 4)
        # the chat path runs the two sides at the same time, on two connections: the same answer (a
        # hit only the keyword side found carries its relevance only when a threshold needs it)
        assert [(h.id, h.score) for h in asyncio.run(retrieval.asearch([scope], query, _ready(vector), "m", 4, keyword_weight=0.3))[0]] \
            == [(h.id, h.score) for h in hits]
        # with a threshold, hits found by keywords alone are measured too: one more statement
        led_by_keywords = retrieval.search(scope, query, vector, "m", 8, keyword_weight=0.9)
        assert {h.id for h in led_by_keywords} - {h.id for h in retrieval.vector_search(scope, vector, "m", 32)}
        threshold = sorted(h.relevance for h in led_by_keywords)[4]
        strict = retrieval.search(scope, query, vector, "m", 8, keyword_weight=0.9, threshold=threshold)
        assert 0 < len(strict) < len(led_by_keywords)
        assert asyncio.run(retrieval.asearch([scope], query, _ready(vector), "m", 8, keyword_weight=0.9, threshold=threshold)) == [strict]
        assert {h.metadata["file_id"] for h in [*hits, *keyword, *nearest]} == {str(scoped.id)}
        assert all(h.relevance is not None for h in keyword)


def test_keyword_candidates_are_the_chunks_holding_the_most_terms(monkeypatch):
    """The keyword side ranks at most CANDIDATES chunks: those holding two of the query's terms come
    before those holding one, and of those holding one, the rarer term's first, wherever they are in
    the table (the first CANDIDATES matches in table order would leave out a chunk holding two terms,
    or the rare term, that comes after them)."""
    from django.db import connection

    user = User.objects.create_user("tiers@example.com", "pw", name="T", role="user")
    file, others = _file(user, "tiers.txt"), _file(user, "other.txt")
    one_term = [f"quokka note {i}" for i in range(retrieval.CANDIDATES + 100)]  # each holds one of the terms
    other = [f"filler paragraph {i} about lunch" for i in range(12_000)]  # so that no query term is common
    Chunk.objects.bulk_create([*(Chunk(file=file, position=i, text=t, metadata={}) for i, t in enumerate([*one_term, "quokka numbat together"])),
                               *(Chunk(file=others, position=i, text=t, metadata={}) for i, t in enumerate(other))], batch_size=2000)
    rare = len(one_term) + 1
    Chunk.objects.bulk_create(Chunk(file=file, position=rare + i, text="platypus platypus", metadata={}) for i in range(2))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE files_chunk")
    monkeypatch.setattr(retrieval, "_stats", (float("-inf"), {}))  # the term frequencies of this data
    assert len(one_term) < retrieval.SCAN_MAX < len(other)
    # a small scope, read and matched chunk by chunk; a big one, through the words' index in tiers
    for scope in ([str(file.id)], [str(file.id), str(others.id)]):
        hits = retrieval.keyword_search(scope, "quokka numbat platypus", 3)
        assert hits[0].text == "quokka numbat together"
        assert [h.text for h in retrieval.keyword_search(scope, "quokka platypus", 2)] == ["platypus platypus"] * 2


def test_hybrid_searches_from_callers_holding_every_pooled_connection_finish():
    """`search` runs its keyword side on a connection of its own: a caller (a sync view, which holds
    its connection until the request ends) must not wait for it holding one, or callers holding
    all of the pool's connections would each wait for a side that can get none (until the pool's
    timeout, then fail)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.conf import settings
    from django.db import connection, connections

    rng = random.Random(3)
    user = User.objects.create_user("pool@example.com", "pw", name="P", role="user")
    file = _file(user, "pool.txt")
    Chunk.objects.bulk_create(Chunk(file=file, position=i, text=f"word{i % 7} word{i % 5} filler", metadata={},
                                    embedding=[rng.gauss(0, 1) for _ in range(SELECTIVE_DIMS)], embedding_model="m",
                                    dimensions=SELECTIVE_DIMS) for i in range(200))
    vector = [rng.gauss(0, 1) for _ in range(SELECTIVE_DIMS)]
    callers = settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"] - 1  # this thread holds one
    together = threading.Barrier(callers)

    def caller():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")  # the caller's own connection, held from here on
            together.wait(timeout=30)
            return retrieval.search([str(file.id)], "word1 word2", vector, "m", 4)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(callers) as pool:
        found = list(pool.map(lambda _: caller(), range(callers)))
    assert [len(hits) for hits in found] == [4] * callers


def test_scope_sizes_survive_the_cache_filling_up(monkeypatch):
    """Sizes are cached per scope up to 1,000 scopes, then the cache starts again: a search over a
    cached scope and a new one when it fills up still sizes both."""
    user = User.objects.create_user("sizes@example.com", "pw", name="S", role="user")
    file = _file(user, "sizes.txt")
    Chunk.objects.bulk_create(Chunk(file=file, position=i, text=f"chunk {i}", metadata={}) for i in range(3))
    now = retrieval.time.monotonic()
    cached = {f"{{{i:08x}-0000-4000-8000-000000000000}}": (now, retrieval._Scope(7, False)) for i in range(1000)}
    monkeypatch.setattr(retrieval, "_scopes", cached)
    known = next(iter(cached))
    assert retrieval._sizes([known, retrieval._array([str(file.id)])]) == [retrieval._Scope(7, False), retrieval._Scope(3, False)]
