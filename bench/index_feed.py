"""How a file's vectors get into its dimension's HNSW index (issue 15): each way timed on the real
chunk table (binary COPY through files.chunk_copy, the GIN keyword index included) in a throw-away
embedded Postgres, with clustered vectors, and the recall@10 of each index against exact search.

    .venv/bin/python -m bench.index_feed [--dims 384,768] [--existing 20000] [--rows 11000]

Ways measured, for a new file of --rows chunks:
  first load          no chunks of that dimension yet: COPY, then one CREATE INDEX CONCURRENTLY
                      (maintenance_work_mem), with 0 or the default parallel maintenance workers
  per-row             the index exists over --existing chunks: COPY inserts each row into the graph
  staging             COPY into a temporary table, then one INSERT..SELECT into the chunk table
  ingestion's way     files.vector_index.loading: when the index holds at most REBUILD_SHARE times the
                      file's rows, DROP INDEX CONCURRENTLY, COPY, CREATE INDEX CONCURRENTLY over
                      everything (searches of that dimension are exact meanwhile); else per-row
  per-row m/ef_c      per-row with an index built with other m / ef_construction (speed vs recall)
The ways into an existing index run --repeat times, alternating, and report each run and the best.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
from array import array
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLUSTERS = 50
QUERIES = 50
TARGET = "ingestion's way into an existing index at least 2x faster than per-row inserts"


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", default="384,768", help="embedding dimensions, comma-separated")
    parser.add_argument("--existing", type=int, default=20000, help="chunks already indexed (other files)")
    parser.add_argument("--rows", type=int, default=11000, help="chunks of the new file (a 10 MB text is ~11,000)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each way into an existing index")
    return parser.parse_args()


def clustered(count: int, dims: int, rng: random.Random) -> list[array]:
    """Unit-ish vectors around CLUSTERS centres (real embeddings cluster by topic)."""
    centres = [[rng.gauss(0, 1) for _ in range(dims)] for _ in range(CLUSTERS)]
    out = []
    for _ in range(count):
        centre = centres[rng.randrange(CLUSTERS)]
        out.append(array("f", [c + 0.6 * (rng.random() - 0.5) * 3.4 for c in centre]))
    return out


class Bench:
    def __init__(self, dims: int, existing: int, rows: int):
        from accounts.models import User
        from files.models import File

        self.dims, self.rng = dims, random.Random(dims)
        self.user = User.objects.get_or_create(email="bench@example.com", defaults={"name": "Bench"})[0]
        self.old_file = File.objects.create(user=self.user, filename="old.txt", storage_name="old", file_hash="0" * 64)
        self.new_file = File.objects.create(user=self.user, filename="new.txt", storage_name="new", file_hash="0" * 64)
        vectors = clustered(existing + rows + QUERIES, dims, self.rng)
        self.old, self.new, self.queries = vectors[:existing], vectors[existing:existing + rows], vectors[existing + rows:]
        self.name = f"chunk_embedding_hnsw_{dims}"

    def execute(self, sql: str, params=None):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else None

    def rows(self, file, vectors, dimensions: bool = True):
        from files import chunk_copy

        text = "refund policy shipping warranty invoice customer order support account delivery " * 11
        for i, vector in enumerate(vectors):
            values = chunk_copy.row(file.id, i, f"{text} line {i}", {"source": file.filename}, vector, "bench")
            yield values if dimensions else values[:-1] + (None,)

    def reset(self, with_index: str | None = "", old: bool = True) -> None:
        """The old file's chunks (unless not `old`), indexed (with these WITH options) unless with_index is None."""
        from files import chunk_copy

        self.execute(f"DROP INDEX IF EXISTS {self.name}")
        self.execute("TRUNCATE files_chunk")
        if old:
            chunk_copy.write(self.rows(self.old_file, self.old))
        self.execute("VACUUM ANALYZE files_chunk")
        if with_index is not None:
            self.build(with_index)

    def build(self, options: str = "", workers: int | None = None) -> float:
        started = time.perf_counter()
        self.execute("SET maintenance_work_mem = '512MB'")
        if workers is not None:
            self.execute(f"SET max_parallel_maintenance_workers = {workers}")
        self.execute(f"CREATE INDEX CONCURRENTLY {self.name} ON files_chunk USING hnsw "
                     f"((embedding::vector({self.dims})) vector_cosine_ops) {options} WHERE dimensions = {self.dims}")
        self.execute("RESET maintenance_work_mem")
        self.execute("RESET max_parallel_maintenance_workers")
        return time.perf_counter() - started

    def copy_new(self, dimensions: bool = True) -> float:
        from django.db import transaction

        from files import chunk_copy

        started = time.perf_counter()
        with transaction.atomic():
            chunk_copy.write(self.rows(self.new_file, self.new, dimensions))
        return time.perf_counter() - started

    def staging(self) -> float:
        from django.db import transaction

        from files import chunk_copy

        started = time.perf_counter()
        with transaction.atomic():
            self.execute("CREATE TEMP TABLE staging_chunk (LIKE files_chunk INCLUDING DEFAULTS) ON COMMIT DROP")
            self.execute("ALTER TABLE staging_chunk DROP COLUMN search")
            chunk_copy.TABLE = "staging_chunk"
            try:
                chunk_copy.write(self.rows(self.new_file, self.new))
            finally:
                chunk_copy.TABLE = "files_chunk"
            columns = ", ".join(chunk_copy.COLUMNS)
            self.execute(f"INSERT INTO files_chunk ({columns}) SELECT {columns} FROM staging_chunk")
        return time.perf_counter() - started

    def recall(self) -> float:
        """Mean recall@10 of the index (hnsw.ef_search 40, the retrieval default) against exact search."""
        from django.db import transaction

        expression = f"(embedding::vector({self.dims})) <=> %s::vector({self.dims})"
        sql = f"SELECT id FROM files_chunk WHERE dimensions = {self.dims} ORDER BY {expression} LIMIT 10"
        found = 0
        for query in self.queries:
            literal = "[" + ",".join(map(str, query)) + "]"
            with transaction.atomic():
                self.execute("SET LOCAL hnsw.ef_search = 40")
                approximate = {r[0] for r in self.execute(sql, [literal])}
                self.execute("SET LOCAL enable_indexscan = off")
                exact = {r[0] for r in self.execute(sql, [literal])}
            found += len(approximate & exact)
        return found / (10 * len(self.queries))

    def ingestion(self) -> float:
        """What ingestion does (files.vector_index.loading): here, with the index holding fewer than
        REBUILD_SHARE times the file's rows, drop it concurrently, COPY, and build it over everything."""
        from files import vector_index

        started = time.perf_counter()
        with vector_index.loading(self.dims, len(self.new)):
            self.copy_new()
        return time.perf_counter() - started

    def run(self, repeat: int) -> dict:
        out = {}
        for workers in (0, None):
            self.reset(with_index=None, old=False)
            copy = self.copy_new()
            build = self.build(workers=workers)
            out[f"first load: COPY, then build ({'default' if workers is None else workers} parallel workers), s"] = {
                "copy": copy, "build": build, "total": copy + build}
        out["recall@10, default index (m 16, ef_construction 64)"] = self.recall()
        ways = {"per-row: COPY into the existing index (today), s": self.copy_new,
                "staging: COPY to a temp table + one INSERT..SELECT, s": self.staging,
                "ingestion's way (vector_index.loading), s": self.ingestion}
        runs = {name: [] for name in ways}
        for _ in range(repeat):  # alternating, so the machine's changing load is shared
            for name, way in ways.items():
                self.reset()
                runs[name].append(way())
        out.update({name: {"best": min(times), "runs": times} for name, times in runs.items()})
        for m, ef in ((16, 32), (8, 32)):
            self.reset(f"WITH (m = {m}, ef_construction = {ef})")
            out[f"per-row, index m {m} ef_construction {ef}: COPY, s"] = self.copy_new()
            out[f"recall@10, index m {m} ef_construction {ef}"] = self.recall()
        self.reset()
        before = self.execute("SELECT oid FROM pg_class WHERE relname = %s", [self.name])
        self.ingestion()
        out["ingestion's way rebuilt the index"] = before != self.execute("SELECT oid FROM pg_class WHERE relname = %s", [self.name])
        out["per-row / ingestion's way"] = (out["per-row: COPY into the existing index (today), s"]["best"]
                                            / out["ingestion's way (vector_index.loading), s"]["best"])
        return out


def rounded(value):
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return [rounded(v) for v in value] if isinstance(value, list | tuple) else value


def main():
    args = arguments()
    # A throw-away DATA_DIR (its own embedded Postgres), set before anything imports the settings
    data = Path(tempfile.mkdtemp(prefix="gw-index-feed-"))
    os.environ.pop("DATABASE_URL", None)
    os.environ.update({"DATA_DIR": str(data), "DJANGO_SETTINGS_MODULE": "config.settings",
                       "WEBUI_SECRET_KEY": "bench-secret-key-bench-secret-key-0123"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from config.embedded_db import stop

    results = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cores": os.cpu_count(),
               "load average": os.getloadavg(), "existing chunks": args.existing, "new file chunks": args.rows,
               "vectors": f"{CLUSTERS} clusters, recall over {QUERIES} queries", "target": TARGET}
    try:
        for dims in map(int, args.dims.split(",")):
            figures = Bench(dims, args.existing, args.rows).run(args.repeat)
            figures["target"] = "met" if figures["per-row / ingestion's way"] >= 2 else "missed"
            results[f"{dims} dimensions"] = figures
            print(json.dumps(rounded({f"{dims} dimensions": figures})), file=sys.stderr)
    finally:
        from django.db import connection

        connection.close()
        stop(data)
    print(json.dumps(rounded(results), indent=2))


if __name__ == "__main__":
    main()
