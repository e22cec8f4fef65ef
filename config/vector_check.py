"""Start-up self-check: does this database's pgvector work on this machine?

A pgvector built for another CPU (the AVX-512 build of an earlier embedded wheel) kills the Postgres
backend with SIGILL on the first distance of 64 or more dimensions, so every vector search crashes
the database with nothing saying why. `serve`, the worker and the test set-up run this first, on a
throw-away connection, and stop with one clear message instead.
"""

import psycopg
from psycopg import sql

MIN_VERSION = (0, 8, 0)  # iterative index scans
DIMENSIONS = 768  # a realistic embedding size (vector path)
HALF_DIMENSIONS = 3072  # above 2,000 dimensions chunks are indexed as halfvec
ROWS = 200
FIX = ("Set DATABASE_URL to a PostgreSQL server with the pgvector extension (0.8 or newer) "
       "available, e.g. postgresql://user:password@host:5432/gateway.")


class VectorCheckFailed(Exception):
    """The database cannot serve vector search; the message says why and what to do."""


def check(conninfo: str, *, log_hint: str = "") -> str:
    """Run the check against `conninfo`; returns the pgvector version, or raises VectorCheckFailed."""
    try:
        conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise VectorCheckFailed(f"Cannot connect to the database: {_first_line(exc)}. {FIX}") from exc
    with conn:
        version = _ensure_extension(conn)
        try:
            _exercise(conn)
        except psycopg.OperationalError as exc:  # the backend died under us
            raise VectorCheckFailed(
                f"The database server crashed while pgvector {version} computed a {DIMENSIONS}-dimension distance "
                f"({_first_line(exc)}). Its vector extension was most likely built for another CPU (e.g. with "
                f"AVX-512 instructions this CPU lacks), and every vector search would crash it the same way. "
                f"{FIX}{log_hint}"
            ) from exc
        except psycopg.Error as exc:
            raise VectorCheckFailed(f"pgvector {version} failed its self-check: {_first_line(exc)}. {FIX}") from exc
    return version


def _ensure_extension(conn) -> str:
    row = conn.execute(
        "SELECT default_version, installed_version FROM pg_available_extensions WHERE name = 'vector'"
    ).fetchone()
    if row is None:
        raise VectorCheckFailed(f"The database server has no pgvector extension ('vector' is not available). {FIX}")
    default, installed = row
    try:
        if installed is None:
            try:
                with conn.transaction():
                    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except psycopg.errors.UniqueViolation:
                pass  # another process created it at the same moment (IF NOT EXISTS does not cover that race)
        elif _parse(installed) < _parse(default):  # e.g. a data directory made by an older embedded build
            conn.execute("ALTER EXTENSION vector UPDATE")
    except psycopg.errors.InsufficientPrivilege as exc:
        user, db = conn.info.user, conn.info.dbname
        raise VectorCheckFailed(
            f"The pgvector extension is not installed in database '{db}', and user '{user}' may not create it "
            f"({_first_line(exc)}). Run CREATE EXTENSION vector; in that database as a superuser, or: {FIX}"
        ) from exc
    version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
    if _parse(version) < MIN_VERSION:
        raise VectorCheckFailed(f"pgvector {version} is too old: 0.8 or newer is needed (iterative index scans). {FIX}")
    return version


def _exercise(conn) -> None:
    """Distances and HNSW-ordered queries at realistic sizes, in a transaction that is rolled back."""
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL(
            "CREATE TEMP TABLE vector_self_check AS SELECT i AS id, "
            "(SELECT array_agg(sin(i * 7 + j)::real) FROM generate_series(1, {d}) j)::vector({d}) AS v, "
            "(SELECT array_agg(cos(i * 3 + j)::real) FROM generate_series(1, {h}) j)::halfvec({h}) AS h "
            "FROM generate_series(1, {rows}) i"
        ).format(d=DIMENSIONS, h=HALF_DIMENSIONS, rows=ROWS))
        conn.execute("SELECT v <=> v, v <-> v, v <#> v, l2_normalize(v) FROM vector_self_check LIMIT 5").fetchall()
        conn.execute("CREATE INDEX ON vector_self_check USING hnsw (v vector_cosine_ops)")
        conn.execute("CREATE INDEX ON vector_self_check USING hnsw (h halfvec_cosine_ops)")
        conn.execute("SET LOCAL enable_seqscan = off")
        conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")
        for column in ("v", "h"):
            query = sql.SQL(
                "SELECT id FROM vector_self_check ORDER BY {c} <=> (SELECT {c} FROM vector_self_check WHERE id = 42) "
                "LIMIT 5"
            ).format(c=sql.Identifier(column))
            ids = [r[0] for r in conn.execute(query).fetchall()]
            if not ids or ids[0] != 42:
                raise VectorCheckFailed(f"pgvector's HNSW index on '{column}' returned {ids} for its own row 42. {FIX}")


def _parse(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
