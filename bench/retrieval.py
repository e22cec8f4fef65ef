"""Retrieval benchmark: p50/p99 of `POST /api/v1/retrieval/query/collection` over a collection of
100,000 chunks (768-dimension vectors, HNSW) and over a collection holding 1% of them, vector-only
and hybrid, through HTTP; then the latency chat completions gain from a collection. Chunks are
generated in SQL (ingesting 100 MB of text would only time the embedder); each query checks it got
`k` results.

    .venv/bin/python -m bench.retrieval [--chunks 100000]
"""

import argparse
import asyncio
import json
import random
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import bench_environment, migrate_and_create_key, pct, start, stop_all, wait_http  # noqa: E402
from tests.server import free_port  # noqa: E402

DIMENSIONS, FILES, VOCABULARY = 768, 100, 5000


def word() -> str:
    return f"w{int(random.random() ** 3 * VOCABULARY)}"  # skewed: a few words are very common


def seed(user, chunks: int) -> dict:
    """FILES files sharing `chunks` chunks with random texts and vectors; a collection of all of them
    and one of a single file (1%). Returns the collection ids."""
    from django.db import connection

    from files import vector_index
    from files.models import File
    from knowledge.models import KnowledgeBase, KnowledgeFile

    files = File.objects.bulk_create(
        File(user=user, filename=f"doc{i}.txt", storage_name=f"bench/doc{i}.txt", file_hash=f"{i:064x}", status="completed")
        for i in range(FILES))
    with connection.cursor() as cursor:
        cursor.execute("SET enable_memoize = off")
        cursor.execute(f"""
            INSERT INTO files_chunk (id, file_id, position, text, metadata, embedding, embedding_model, dimensions)
            SELECT gen_random_uuid(), f.id, g.n, t.text, jsonb_build_object('file_id', f.id::text, 'name', f.filename),
                   v.vec, 'bench-embed', {DIMENSIONS}
            FROM files_file f, generate_series(0, {chunks // FILES - 1}) g(n),
            LATERAL (SELECT string_agg('w' || floor(power(random(), 3) * {VOCABULARY})::int, ' ') AS text
                     FROM generate_series(1, 150) WHERE f.id IS NOT NULL AND g.n >= 0) t,
            LATERAL (SELECT array_agg(random() - 0.5)::vector AS vec
                     FROM generate_series(1, {DIMENSIONS}) WHERE f.id IS NOT NULL AND g.n >= 0) v""")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        # steady state, as autovacuum leaves a table: otherwise it runs during the measurement
        cursor.execute("VACUUM ANALYZE files_chunk")
    started = time.perf_counter()
    vector_index.ensure(DIMENSIONS)
    index_seconds = time.perf_counter() - started
    everything = KnowledgeBase.objects.create(user=user, name="all")
    KnowledgeFile.objects.bulk_create(KnowledgeFile(knowledge=everything, file=f) for f in files)
    one_percent = KnowledgeBase.objects.create(user=user, name="one percent")
    KnowledgeFile.objects.create(knowledge=one_percent, file=files[0])
    return {"all": str(everything.id), "one_percent": str(one_percent.id), "index_seconds": index_seconds}


async def measure(client, collection: str, hybrid: bool, n: int, k: int = 3) -> dict:
    latencies = []
    for _ in range(n):
        query = " ".join(word() for _ in range(4))
        started = time.perf_counter()
        r = await client.post("/api/v1/retrieval/query/collection",
                              json={"collection_names": [collection], "query": query, "k": k, "hybrid": hybrid})
        latencies.append(time.perf_counter() - started)
        r.raise_for_status()
        assert len(r.json()["documents"][0]) == k, r.text
    return {"p50 ms": pct(latencies, 50), "p99 ms": pct(latencies, 99)}


async def chat_latency(client, collection: str | None, n: int) -> float:
    """p50 of non-streamed chat completions, with the collection as `files` when given."""
    latencies = []
    for _ in range(n):
        body = {"model": "bench-model", "messages": [{"role": "user", "content": " ".join(word() for _ in range(6))}]}
        if collection:
            body["files"] = [{"type": "collection", "id": collection}]
        started = time.perf_counter()
        r = await client.post("/api/chat/completions", json=body)
        latencies.append(time.perf_counter() - started)
        r.raise_for_status()
        assert bool(r.json().get("sources")) == bool(collection), r.text
    return pct(latencies, 50)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    data, env = bench_environment("gw-retrieval-")
    py = sys.executable
    emb_port, gw_port = free_port(), free_port()
    procs = [start([py, "-m", "bench.upstream", "ollama", str(emb_port), "0", "0", str(DIMENSIONS)], env, data / "embed.log")]
    results = {}
    try:
        started = time.perf_counter()
        out = migrate_and_create_key(env, (
            "from config import runtime; from bench.retrieval import seed; import json;"
            "from models_registry.models import Connection;"
            f"Connection.objects.create(kind='ollama', base_url='http://127.0.0.1:{emb_port}');"
            "runtime.update({'RAG_EMBEDDING_ENGINE':'ollama','RAG_EMBEDDING_MODEL':'bench-embed',"
            f"'RAG_OLLAMA_BASE_URL':'http://127.0.0.1:{emb_port}'}});"
            f"print(json.dumps(seed(u, {args.chunks})))"), lines=2)
        seeded, key = json.loads(out[0]), out[1]
        results["set-up (generate chunks, build index), s"] = time.perf_counter() - started
        results["HNSW index build, s"] = seeded["index_seconds"]
        procs.append(start([py, "-m", "uvicorn", "config.asgi:application", "--port", str(gw_port), "--lifespan", "off",
                            "--log-level", "warning"], env, data / "gateway.log"))
        gw = f"http://127.0.0.1:{gw_port}"
        wait_http(f"{gw}/health")
        async with httpx.AsyncClient(base_url=gw, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            await measure(client, seeded["all"], True, 20)  # warm up: connections, caches, index pages
            for label, collection in [(f"{args.chunks:,} chunks", seeded["all"]), ("1% of them", seeded["one_percent"])]:
                for hybrid in (False, True):
                    name = f"{label}, {'hybrid' if hybrid else 'vector'}"
                    results[name] = await measure(client, collection, hybrid, args.queries)
            plain = await chat_latency(client, None, args.queries)
            results["chat, no files (p50 ms)"] = plain
            for label, collection in [("1% collection", seeded["one_percent"]), (f"{args.chunks:,}-chunk collection", seeded["all"])]:
                with_files = await chat_latency(client, collection, args.queries)
                results[f"chat with the {label}: added p50 ms"] = with_files - plain
    finally:
        stop_all(procs, data)
    print(json.dumps(results, indent=2, default=lambda v: round(v, 2)))


if __name__ == "__main__":
    asyncio.run(main())
