"""Ingestion and retrieval benchmark: time from upload to `completed` for 1 MB and 10 MB of text and
a 200-page PDF (embedding through a local Ollama-protocol upstream), the peak memory of the server
and the worker while they ingest, and retrieval latency.

    .venv/bin/python -m bench.ingest [--dims 384] [--sizes 1,10] [--pages 200] [--no-pdf] [--no-retrieval]
"""

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import bench_environment, migrate_and_create_key, pct, peak_rss_mb, start, stop_all, wait_http  # noqa: E402
from tests.documents import pdf  # noqa: E402
from tests.server import free_port  # noqa: E402


def text_of(size: int) -> bytes:
    words = "refund policy shipping warranty invoice customer order support account delivery".split()
    out, i = [], 0
    while sum(map(len, out)) < size:
        out.append(" ".join(words[(i + j) % len(words)] for j in range(12)) + f" line {i}.\n")
        i += 1
    return "".join(out).encode()[:size]


def pdf_pages(pages: int) -> bytes:
    """A PDF of `pages` pages, each a copy of a one-page document (for extraction cost)."""
    import io

    from pypdf import PdfReader, PdfWriter

    page = PdfReader(io.BytesIO(pdf("Quarterly report page with refund and warranty figures " * 3))).pages[0]
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", type=int, default=384, help="embedding dimensions (realistic: 384, 768)")
    parser.add_argument("--sizes", default="1,10", help="text file sizes in MB, comma-separated")
    parser.add_argument("--pages", type=int, default=200, help="pages of the PDF")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF")
    parser.add_argument("--no-retrieval", action="store_true", help="skip the retrieval latency part")
    return parser.parse_args()


async def retrieval(client, file_id: str) -> dict:
    latencies = []
    for i in range(200):
        t = time.perf_counter()
        r = await client.post("/api/v1/retrieval/query/doc", json={"collection_name": f"file-{file_id}",
                                                                  "query": f"refund warranty line {i}", "k": 3})
        r.raise_for_status()
        latencies.append(time.perf_counter() - t)
    return {"p50 ms": pct(latencies, 50), "p99 ms": pct(latencies, 99), "mean ms": statistics.mean(latencies) * 1000}


async def main():
    args = arguments()
    data, env = bench_environment("gw-ingest-")
    py = sys.executable
    emb_port, gw_port = free_port(), free_port()
    procs = [start([py, "-m", "bench.upstream", "ollama", str(emb_port), "0", "0", str(args.dims)], env, data / "embed.log")]
    key = migrate_and_create_key(env, (
        "from config import runtime;"
        f"runtime.update({{'RAG_EMBEDDING_ENGINE':'ollama','RAG_EMBEDDING_MODEL':'bench-embed','RAG_EMBEDDING_BATCH_SIZE':64,"
        f"'RAG_OLLAMA_BASE_URL':'http://127.0.0.1:{emb_port}'}})"))
    procs.append(start([py, "-m", "uvicorn", "config.asgi:application", "--port", str(gw_port), "--lifespan", "off",
                        "--log-level", "warning"], env, data / "gateway.log"))
    worker = start([py, "manage.py", "worker", "-q", "ingest"], env, data / "worker.log")
    procs.append(worker)
    server = procs[1]
    gw, auth = f"http://127.0.0.1:{gw_port}", {"Authorization": f"Bearer {key}"}
    results = {}
    try:
        wait_http(f"{gw}/health")
        wait_http(f"http://127.0.0.1:{emb_port}/api/version")
        async with httpx.AsyncClient(base_url=gw, headers=auth, timeout=300) as client:
            ids = []
            inputs = [(f"{mb:g}mb.txt", text_of(int(mb * (1 << 20)))) for mb in map(float, args.sizes.split(","))]
            inputs += [] if args.no_pdf else [(f"{args.pages}pages.pdf", pdf_pages(args.pages))]
            results["embedding dimensions"] = args.dims
            for name, body in inputs:
                started = time.perf_counter()
                r = await client.post("/api/v1/files/", files={"file": (name, body)})
                file_id = r.json()["id"]
                while (await client.get(f"/api/v1/files/{file_id}/process/status")).json()["status"] not in ("completed", "failed"):
                    await asyncio.sleep(0.05)
                status = (await client.get(f"/api/v1/files/{file_id}/process/status")).json()["status"]
                results[f"ingest {name} (upload to {status}, s)"] = time.perf_counter() - started
                ids.append(file_id)
            results["peak RSS MB while ingesting: server / worker"] = f"{peak_rss_mb(server.pid):.0f} / {peak_rss_mb(worker.pid):.0f}"
            if not args.no_retrieval:
                results["retrieval over the last text file's chunks, HTTP round trip"] = await retrieval(client, ids[len(ids) - 1 - (not args.no_pdf)])
    finally:
        stop_all(procs, data)
    print(json.dumps(results, indent=2, default=lambda v: round(v, 2)))


if __name__ == "__main__":
    asyncio.run(main())
