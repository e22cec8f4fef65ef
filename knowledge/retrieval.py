"""Retrieval over files.Chunk, filtered to a set of files. Keyword search is Postgres full text
(the zero-set-up path, DECISIONS #17); vector search uses the dimension's HNSW index; hybrid fuses
both by reciprocal rank.

Each side of a search is one round trip to Postgres (and, once per scope every STATS_SECONDS, one to
size it: _sizes): its settings (`SET LOCAL`, which holds for the implicit transaction of a
multi-statement query) and its one statement are sent together in raw SQL, the files as one array
literal. Hybrid runs both sides at once, each on a connection of its own (`search`), and on the
request path starts the keyword side while the query is still being embedded (`asearch`)."""

import asyncio
import itertools
import json
import re
import struct
import time
from collections.abc import Awaitable
from dataclasses import dataclass, replace

from django.db import connection

from config.common.db import db_call, hand_back, in_parallel
from files import vector_index

_WORD = re.compile(r"\w+", re.UNICODE)

RRF_K = 60  # reciprocal rank fusion constant
COMMON = 0.05  # a term in more than this share of all chunks says little about relevance
CANDIDATES = 500  # keyword matches ranked at most (see _keyword_sql)
WIDE = 0.2  # share of all chunks above which a scope is checked on each keyword match (_Scope)
SCAN_MAX = 2000  # chunks in scope up to which the keyword side reads them all and matches each
STATS_SECONDS = 300.0
EXACT_MAX = 5000  # chunks in scope up to which vector search is an exact scan


@dataclass(frozen=True)
class Hit:
    id: str
    text: str
    metadata: dict
    score: float
    relevance: float | None = None  # (1 + cosine) / 2 when the query has a vector


def search(file_ids, query: str, vector: list[float] | None, model: str, k: int, *, hybrid: bool = True,
           keyword_weight: float = 0.5, threshold: float = 0.0) -> list[Hit]:
    """The best `k` chunks: keywords alone without a vector, vectors alone when `hybrid` is off,
    else both fused. With a vector, chunks whose relevance is under `threshold` are dropped."""
    if not file_ids:
        return []
    if not vector:
        return keyword_search(file_ids, query, k)
    if not hybrid:
        hits = vector_search(file_ids, vector, model, k)
    else:
        # the keyword side on another connection meanwhile: 4.4 ms p50 at 100,000 chunks, against
        # 7.0 for both in one statement (one after the other)
        keyword = in_parallel(keyword_search, file_ids, query, k * 4, vector, model)
        nearest = vector_search(file_ids, vector, model, k * 4)
        if not connection.in_atomic_block:
            hand_back()  # wait holding no connection: the keyword side may need the pool's last one
        hits = _fuse(keyword.result(), nearest, keyword_weight, k)
    return _relevant(hits, threshold)


async def asearch(scopes: list[list[str]], query: str, vector: Awaitable[list[float] | None], model: str, k: int, *,
                  hybrid: bool = True, keyword_weight: float = 0.5, threshold: float = 0.0) -> list[list[Hit]]:
    """`search` of each scope (a list of file ids) for the request path, given the query's vector as
    it is being computed: hybrid's keyword side starts at once and the vector side once the vector is
    there, each one statement for all the scopes on a pooled connection of its own, fused here. The
    same hits as `search`, except that a hit only the keyword side found carries no relevance unless
    `threshold` needs it (one more statement)."""
    literals = [_array(scope) for scope in scopes if scope]
    if not literals:
        await vector
        return [[] for _ in scopes]
    keyword = asyncio.ensure_future(db_call(_keyword_each)(literals, query, k * 4)) if hybrid else None
    try:
        vector_now = await vector
        if not vector_now:  # keywords alone (their first k are those of a search for k)
            found = [hits[:k] for hits in await keyword] if keyword else await db_call(_keyword_each)(literals, query, k)
        else:
            nearest = await db_call(_vector_each)(literals, vector_now, model, k * 4 if keyword else k)
            found = nearest if keyword is None else [
                _fuse(hits, near, keyword_weight, k) for hits, near in zip(await keyword, nearest)]
    finally:
        if keyword is not None and not keyword.done():
            keyword.cancel()
    if vector_now and threshold > 0 and any(h.relevance is None for hits in found for h in hits):
        found = await db_call(_with_relevance)(found, vector_now, model)
    each = iter([_relevant(hits, threshold) for hits in found])
    return [next(each) if scope else [] for scope in scopes]


def _with_relevance(found: list[list[Hit]], vector: list[float], model: str) -> list[list[Hit]]:
    """The hits, each with its relevance to `vector` (of `model`)."""
    rows = _run(f"SELECT id, {_DISTANCE.format(t='')} FROM files_chunk WHERE id = ANY(%s::uuid[])",
                [*_distance_params(vector, model), _array({h.id for hits in found for h in hits})])
    distance = {str(i): d for i, d in rows}
    return [[h if h.relevance is not None else replace(h, relevance=_relevance(distance.get(h.id))) for h in hits]
            for hits in found]


def _relevant(hits: list[Hit], threshold: float) -> list[Hit]:
    return [h for h in hits if h.relevance is None or h.relevance >= threshold]


def _fuse(keyword: list[Hit], nearest: list[Hit], keyword_weight: float, k: int) -> list[Hit]:
    fused: dict[str, float] = {}
    hits: dict[str, Hit] = {}
    for results, weight in ((keyword, keyword_weight), (nearest, 1 - keyword_weight)):
        for rank, hit in enumerate(results):
            fused[hit.id] = fused.get(hit.id, 0.0) + 2 * weight / (RRF_K + rank + 1)
            kept = hits.get(hit.id)
            if kept is None or kept.relevance is None:  # keep the one that knows its relevance
                hits[hit.id] = hit
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


# The planner prices @@ on a row far below its real cost and would rather read the table in order
# until CANDIDATES rows match (4 us a row, measured); the GIN index finds them at once. The vector
# side's exact plan reads the scope's chunks through the file index, so it loses nothing by it.
_KEYWORD_SETTINGS = "SET LOCAL enable_seqscan = off; SET LOCAL max_parallel_workers_per_gather = 0; "


@dataclass(frozen=True)
class _Scope:
    chunks: int  # counted up to EXACT_MAX + 1
    wide: bool  # its files' chunk counts are over WIDE of the table's

    @property
    def exact(self) -> bool:
        return self.chunks <= EXACT_MAX


_scopes: dict[str, tuple[float, _Scope]] = {}  # scope (its ids literal) -> (when measured, its size)


def _sizes(scopes: list[str]) -> list[_Scope]:
    """How big each scope (an ids literal) is, which decides how each side searches it (_keyword_sql,
    _vector_sql); cached STATS_SECONDS (a stale answer costs time, never results), the others counted
    in one query, through the file index (the planner would read the table: a page a row at 768
    dimensions)."""
    now = time.monotonic()
    sizes = {ids: _scopes[ids][1] for ids in scopes if ids in _scopes and now - _scopes[ids][0] <= STATS_SECONDS}
    stale = [ids for ids in dict.fromkeys(scopes) if ids not in sizes]
    if stale:
        rows = _run(
            "SET LOCAL enable_seqscan = off; SELECT s.n, (SELECT count(*) FROM (SELECT FROM files_chunk "
            "WHERE file_id = ANY(s.ids) LIMIT %s) AS c), coalesce((SELECT sum(progress_total) FROM files_file "
            "WHERE id = ANY(s.ids)), 0) > %s * (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = "
            "'files_chunk'::regclass) FROM (SELECT n, ids::uuid[] AS ids FROM unnest(%s::text[]) WITH ORDINALITY "
            "AS u(ids, n)) AS s", [EXACT_MAX + 1, WIDE, stale])
        if len(_scopes) + len(stale) > 1000:
            _scopes.clear()
        for n, chunks, wide in rows:
            sizes[stale[n - 1]] = _Scope(chunks, wide)
            _scopes[stale[n - 1]] = (now, sizes[stale[n - 1]])
    return [sizes[ids] for ids in scopes]


def _keyword_sql(terms: list[str], file_ids: str, k: int, vector: list[float] | None, model: str,
                 scope: _Scope) -> tuple[str, list]:
    """Chunks holding any of `terms`, ranked by ts_rank. So that common words cannot make a query rank
    a whole collection, at most CANDIDATES chunks are ranked, taken in tiers: those holding every
    term, then those holding two of them, then, only if those are fewer than the 2 * k kept, those
    holding one, the rarest term's first. ts_rank ranks chunks by the terms they hold, so those tiers
    hold its top: 0.92 of the exact top 12 at 100,000 chunks, where the first CANDIDATES chunks holding
    any term (in table order) held 0.33 (bench data, 150 queries). Columns: id, text, metadata, rank,
    position, distance to `vector` (of `model`) or NULL."""
    every, some = " & ".join(terms), " | ".join(terms)
    pairs = " | ".join(f"({a} & {b})" for a, b in itertools.combinations(terms, 2))
    frequency = _term_frequencies()
    rarest = sorted(terms, key=lambda t: frequency.get(t, 0.0))
    if scope.chunks <= SCAN_MAX:
        # A small scope's chunks are read through the file index and matched one by one (`IS TRUE`
        # keeps the planner off the words' index), once, the tiers told by ordering: 3.1 ms for a
        # 1,000-chunk file at 100,000 chunks, against 5-6 ms intersecting the words' matches.
        tiers = [every] + ([pairs] if len(terms) > 2 else []) + rarest[:-1]
        candidates = ("SELECT id, position, search FROM files_chunk WHERE file_id = ANY(%s::uuid[]) "
                      "AND (search @@ to_tsquery('simple', %s)) IS TRUE ORDER BY "
                      + ", ".join(["search @@ to_tsquery('simple', %s) DESC"] * len(tiers)) + " LIMIT %s")
        params = [some, file_ids, some, *tiers, CANDIDATES]
    else:
        # Each tier: the tsqueries a chunk matches one of, and the one of the tiers before it. The
        # pairs are matched one by one, each intersecting two words' matches, their bitmaps OR'd:
        # one OR of ANDs made the index read every match of every term (six terms: 4.7 -> 3.2 ms).
        pairs_apart = [f"{a} & {b}" for a, b in itertools.combinations(terms, 2)]
        two = [([every], None)] + ([(pairs_apart, every)] if len(terms) > 2 else [])
        # (the other terms together: a tier per term costs more to plan than it saves)
        one = [([rarest[0]], pairs or every), ([" | ".join(rarest[1:])], pairs or every)] if len(terms) > 1 else []
        # A narrow scope's chunks are found through the file index and intersected with the words'
        # matches; a wide one (_Scope.wide) is checked on each match instead, where that index scan would
        # read most of the table (2 of 8 ms at 100,000 chunks).
        within = "(file_id = ANY(%s::uuid[])) IS TRUE" if scope.wide else "file_id = ANY(%s::uuid[])"

        def tiers(chosen: list[tuple[list[str], str | None]]) -> tuple[str, list]:
            sql = " UNION ALL ".join(
                f"(SELECT id, position, search FROM files_chunk WHERE {within} AND ("
                + " OR ".join(["search @@ to_tsquery('simple', %s)"] * len(matches))
                + ") AND NOT coalesce(search @@ to_tsquery('simple', %s), false))" for matches, _ in chosen)
            return sql, [p for matches, seen in chosen for p in (file_ids, *matches, seen)]

        # The tiers run in order and stop once CANDIDATES chunks are found; the one-term tiers, whose
        # words' matches cost the most to gather (all of a term's chunks), only when needed: 4.5 -> 3 ms
        # p50 at 100,000 chunks, the same top 12.
        two_sql, two_params = tiers(two)
        candidates = f"WITH two AS MATERIALIZED (SELECT * FROM ({two_sql}) AS u LIMIT %s) SELECT * FROM two"
        params = [some, *two_params, CANDIDATES]
        if one:
            one_sql, one_params = tiers(one)
            candidates += (f" UNION ALL (SELECT * FROM ({one_sql}) AS u "
                           "WHERE (SELECT count(*) FROM two) < %s LIMIT %s - (SELECT count(*) FROM two))")
            params += [*one_params, 2 * k, CANDIDATES]
    # ts_rank, not ts_rank_cd: 8x faster over thousands of matches (measured), same ordering in practice.
    # Only the rows kept are read whole, with their distance to `vector`.
    sql = ("WITH best AS MATERIALIZED (SELECT id, position, ts_rank(search, to_tsquery('simple', %s), 32) AS rank "
           f"FROM ({candidates}) AS c ORDER BY rank DESC, position LIMIT %s) "
           "SELECT f.id, f.text, f.metadata, best.rank, best.position, "
           f"{_DISTANCE.format(t='f.')} FROM best JOIN files_chunk f ON f.id = best.id")
    return sql, [*params, 2 * k, *_distance_params(vector, model)]


# A chunk's cosine distance to the query's vector, NULL when embedded by another model or size;
# `t` names the table (with its dot), params: _distance_params.
_DISTANCE = "CASE WHEN {t}dimensions = %s AND {t}embedding_model = %s THEN {t}embedding <=> %s::vector END"


def _distance_params(vector: list[float] | None, model: str) -> list:
    return [len(vector or ()), model, _vector_text(vector) if vector else None]


def _vector_text(vector: list[float]) -> str:
    """The vector's text form, as pgvector's Vector.to_text gives it (each value as a float4, exactly)
    in a third of the time and two thirds of the length: 0.1 ms at 768 dimensions, on each search."""
    values = struct.unpack(f"{len(vector)}f", struct.pack(f"{len(vector)}f", *vector))
    return "[" + ",".join(["%.9g"] * len(values)) % values + "]"


def _keyword_hits(rows, k: int) -> list[Hit]:
    hits = {}
    for i, text, metadata, rank, _, distance in sorted(rows, key=lambda r: (-r[3], r[4])):
        hits.setdefault(i, Hit(str(i), text, _json(metadata), float(rank), _relevance(distance)))
    return list(hits.values())[:k]


def keyword_search(file_ids, query: str, k: int, vector: list[float] | None = None, model: str = "") -> list[Hit]:
    """Chunks holding any of the query's telling words, ranked by ts_rank (see _keyword_sql). With
    `vector` (of `model`), each hit carries its relevance."""
    return _keyword_each([_array(file_ids)], query, k, vector, model)[0] if file_ids else []


def _keyword_each(scopes: list[str], query: str, k: int, vector: list[float] | None = None, model: str = "") -> list[list[Hit]]:
    """keyword_search of each scope (an ids literal), in one statement."""
    terms = _terms(query)
    if not terms:
        return [[] for _ in scopes]
    parts, params = [], []
    for n, (ids, size) in enumerate(zip(scopes, _sizes(scopes))):
        sql, more = _keyword_sql(terms, ids, k, vector, model, size)
        parts.append(f"SELECT {n} AS scope, * FROM ({sql}) AS s{n}")
        params += more
    rows = _run(_KEYWORD_SETTINGS + " UNION ALL ".join(parts), params)
    return [_keyword_hits([r[1:] for r in rows if r[0] == n], k) for n in range(len(scopes))]


def _vector_sql(file_ids: str, vector: list[float], model: str, k: int, exact: bool) -> tuple[str, list]:
    """The `k` chunks of the files nearest to `vector`, embedded with `model`: id, text, metadata,
    rank (0), position, distance; one statement, in which only the branches needed run.

    An `exact` scope (up to EXACT_MAX chunks, _Scope) is read and sorted whole: faster than walking
    the graph for the few rows a selective filter lets through, which the planner would not know for
    a small `k`. Beyond, the query is written as the dimension's index expression (files.vector_index),
    so the HNSW index serves it with an iterative scan; should the scan still stop short of `k` rows,
    the exact search answers instead, so a selective filter never loses results (DECISIONS #9)."""
    dimensions = len(vector)
    branch = ("(SELECT id, text, metadata, 0::real, position, {distance} AS distance FROM files_chunk "
              "WHERE file_id = ANY(%s::uuid[]) AND embedding_model = %s AND dimensions = %s {only} "
              "ORDER BY distance LIMIT %s)")
    text, params = _vector_text(vector), [file_ids, model, dimensions, k]
    whole = branch.replace("{distance}", "embedding <=> %s::vector")
    if exact or not vector_index.indexable(dimensions):
        return whole.replace("{only}", ""), [text, *params]
    kind = "vector" if dimensions <= vector_index.VECTOR_MAX else "halfvec"
    walk = branch.replace("{distance}", f"(embedding::{kind}({dimensions})) <=> %s::{kind}")
    sql = (f"(WITH walked AS MATERIALIZED {walk.replace('{only}', '')}, "
           "choice AS MATERIALIZED (SELECT count(*) < %s AS exact FROM walked) "
           "(SELECT * FROM walked WHERE NOT (SELECT exact FROM choice) ORDER BY distance) "
           f"UNION ALL {whole.replace('{only}', 'AND (SELECT exact FROM choice)')})")
    return sql, [text, *params, k, text, *params]


def _vector_settings(k: int, walk: bool) -> str:
    """An iterative scan keeps walking the graph until `k` rows pass the filter, in distance order.
    No parallel workers: starting them costs more than the search, even for the branch that does
    not run (measured: 70 ms on two busy cores). No sequential scans: an exact search reads its
    scope through the file index. When the scope is big (`walk`, _Scope), no sorts either: its
    nearest chunks come from the graph whatever the planner's statistics say (a table just loaded
    has none, and the planner sorted a 10,800-chunk file instead: 12 ms, not 1)."""
    return (f"SET LOCAL hnsw.iterative_scan = strict_order; SET LOCAL hnsw.ef_search = {min(max(40, 2 * k), 1000)}; "
            "SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL enable_seqscan = off; "
            + ("SET LOCAL enable_sort = off; " if walk else ""))


def vector_search(file_ids, vector: list[float], model: str, k: int) -> list[Hit]:
    """Nearest chunks by cosine distance among the files' chunks embedded with `model` (see _vector_sql)."""
    return _vector_each([_array(file_ids)], vector, model, k)[0]


def _vector_each(scopes: list[str], vector: list[float], model: str, k: int) -> list[list[Hit]]:
    """vector_search of each scope (an ids literal), in one statement. A scope searched exactly
    sorts its rows whatever the settings of a scope that walks the graph say (the index cannot
    order them: _vector_sql), so one statement holds both kinds."""
    sizes = _sizes(scopes)
    parts, params = [], []
    for n, (ids, size) in enumerate(zip(scopes, sizes)):
        sql, more = _vector_sql(ids, vector, model, k, size.exact)
        parts.append(f"SELECT {n} AS scope, * FROM {sql} AS s{n}")
        params += more
    rows = _run(_vector_settings(k, not all(size.exact for size in sizes)) + " UNION ALL ".join(parts), params)
    return [_vector_hits(sorted((r[1:] for r in rows if r[0] == n), key=lambda r: r[5])) for n in range(len(scopes))]


def _vector_hits(rows) -> list[Hit]:
    return [Hit(str(i), text, _json(metadata), _relevance(d), _relevance(d)) for i, text, metadata, _, _, d in rows]


def _array(file_ids) -> str:
    """The files as one uuid[] literal: a statement names them several times, and a string is bound
    at once where a list of ids is adapted id by id each time (a millisecond for 100 files x 5)."""
    return "{" + ",".join(map(str, file_ids)) + "}"


def _run(sql: str, params: list) -> list[tuple]:
    """The rows of the last statement of `sql`, sent as one query (the connection's client-side
    binding uses the simple protocol, which takes several statements in one implicit transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while cursor.nextset():
            pass
        return cursor.fetchall()


def _json(metadata) -> dict:
    return json.loads(metadata) if isinstance(metadata, str) else metadata  # Django leaves jsonb undecoded


def _relevance(distance) -> float | None:
    return None if distance is None else (2 - float(distance)) / 2  # (1 + cos) / 2, as Open WebUI on pgvector
