"""Ingestion and retrieval benchmark: time from upload to `completed` for 1 MB and 10 MB of text at
each embedding size (384 and 768 dimensions, from local Ollama-protocol upstreams) and a 200-page
PDF, RAG chat over a 20-file collection, retrieval latency, and the peak memory of the server and
the worker while they ingest. With `--openwebui VENV`, the same client runs the same workloads
against Open WebUI 0.12.4 (installed in that venv) in the same run, and the table shows the ratios.

    .venv/bin/python -m bench.ingest [--dims 384,768] [--sizes 1,10] [--pages 200] [--no-pdf]
                                     [--rag-files 20] [--no-retrieval] [--openwebui VENV] [--markdown] [--quick]
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

from bench.run import (  # noqa: E402
    EMBEDDING_BATCH_SIZE,
    Models,
    bench_environment,
    chat,
    connections_setup,
    migrate_and_create_key,
    pct,
    peak_rss_mb,
    start,
    start_upstreams,
    stop_all,
    wait_http,
)
from bench.targets import INGEST_VS_OPENWEBUI, PEAK_RSS_MB, Row, header, table  # noqa: E402
from tests.documents import pdf  # noqa: E402
from tests.server import free_port  # noqa: E402

# the gateway's worker sees a settings change within STATE_CACHE_SECONDS (5 s by default)
SETTINGS_SEEN_SECONDS = 6


def text_of(size: int, seed: str = "") -> bytes:
    """`size` bytes of text; `seed` makes files of the same size differ (no deduplication by hash)."""
    words = "refund policy shipping warranty invoice customer order support account delivery".split()
    out, length, i = [f"{seed}\n"], len(seed) + 1, 0
    while length < size:
        out.append(" ".join(words[(i + j) % len(words)] for j in range(12)) + f" line {i}.\n")
        length += len(out[-1])
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
    parser.add_argument("--dims", default="384,768", help="embedding dimensions, comma-separated (realistic: 384, 768)")
    parser.add_argument("--sizes", default="1,10", help="text file sizes in MB, comma-separated")
    parser.add_argument("--pages", type=int, default=200, help="pages of the PDF")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF")
    parser.add_argument("--rag-files", type=int, default=20, help="files in the collection RAG chat uses (0: skip)")
    parser.add_argument("--no-retrieval", action="store_true", help="skip the retrieval latency part")
    parser.add_argument("--openwebui", metavar="VENV", help="also measure Open WebUI 0.12.4 installed in this venv")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--quick", action="store_true", help="fewer queries and chat requests (a smoke run)")
    return parser.parse_args()


async def configure_embedding(client, dims: int, ollama_url: str) -> None:
    """Point RAG embedding at the Ollama-protocol upstream of `dims` dimensions, vector search only
    (Open WebUI's routes)."""
    r = await client.post("/api/v1/retrieval/embedding/update", json={
        "RAG_EMBEDDING_ENGINE": "ollama", "RAG_EMBEDDING_MODEL": f"bench-embed-{dims}",
        "RAG_EMBEDDING_BATCH_SIZE": EMBEDDING_BATCH_SIZE, "ollama_config": {"url": ollama_url, "key": ""}})
    r.raise_for_status()
    # vector search only on both sides, as Open WebUI ships (the gateway's default is hybrid)
    r = await client.post("/api/v1/retrieval/config/update", json={"ENABLE_RAG_HYBRID_SEARCH": False})
    r.raise_for_status()
    await asyncio.sleep(SETTINGS_SEEN_SECONDS)


async def ingest(client, name: str, body: bytes, idle=None) -> tuple[float, str, str, float | None]:
    """Upload a file and wait until it is processed: (seconds, final status, file id, seconds until
    `idle()` returned: the gateway's index work after `completed`, so the next upload starts on an
    idle system)."""
    started = time.perf_counter()
    r = await client.post("/api/v1/files/", files={"file": (name, body)})
    r.raise_for_status()
    file_id = r.json()["id"]
    while (status := await processing_status(client, file_id)) not in ("completed", "failed"):
        await asyncio.sleep(0.05)
    seconds = time.perf_counter() - started
    if idle is not None:
        await idle()
    return seconds, status, file_id, (time.perf_counter() - started) if idle is not None else None


def jobs_idle(data: Path):
    """An `idle()` for `ingest`: waits until the gateway's worker has no file or index job left
    (read from its embedded database)."""
    import psycopg

    from config.embedded_db import status

    async def idle() -> None:
        async with await psycopg.AsyncConnection.connect(status(data)["uri"], autocommit=True) as conn:
            while True:
                row = await (await conn.execute(
                    "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
                    "AND task_name IN ('files.tasks.process_file', 'files.tasks.finish_indexes')")).fetchone()
                if row[0] == 0:
                    return
                await asyncio.sleep(0.05)

    return idle


async def processing_status(client, file_id: str) -> str:
    """The file's status; a poll that meets a kept-alive connection the server just closed (Open
    WebUI's event loop stalls for seconds while it writes vectors) is sent again."""
    for attempt in range(3):
        try:
            r = await client.get(f"/api/v1/files/{file_id}/process/status")
            r.raise_for_status()
            return r.json()["status"]
        except httpx.TransportError:
            if attempt == 2:
                raise


async def retrieval(client, file_id: str, queries: int) -> dict:
    latencies = []
    for i in range(queries):
        t = time.perf_counter()
        r = await client.post("/api/v1/retrieval/query/doc", json={"collection_name": f"file-{file_id}",
                                                                  "query": f"refund warranty line {i}", "k": 3})
        r.raise_for_status()
        latencies.append(time.perf_counter() - t)
    return {"p50 ms": pct(latencies, 50), "p99 ms": pct(latencies, 99), "mean ms": statistics.mean(latencies) * 1000}


async def rag_chat(client, model: str, files: int, requests: int, idle=None) -> dict:
    """A collection of `files` small files, then chat completions that use it, one at a time."""
    ids = []
    for i in range(files):
        seconds, status, file_id, _ = await ingest(client, f"policy-{i}.txt", text_of(20_000, f"policy document {i}"), idle)
        if status != "completed":
            raise RuntimeError(f"policy-{i}.txt: {status}")
        ids.append(file_id)
    kb = (await client.post("/api/v1/knowledge/create", json={"name": "bench", "description": "bench collection"})).json()
    for file_id in ids:
        (await client.post(f"/api/v1/knowledge/{kb['id']}/file/add", json={"file_id": file_id})).raise_for_status()
    body = chat(model, files=[{"type": "collection", "id": kb["id"]}])
    body["messages"] = [{"role": "user", "content": "What does the warranty policy say about refunds?"}]
    latencies = []
    for _ in range(requests):
        t = time.perf_counter()
        (await client.post("/api/chat/completions", json=body)).raise_for_status()
        latencies.append(time.perf_counter() - t)
    return {"p50 ms": pct(latencies, 50), "p99 ms": pct(latencies, 99)}


async def ingest_workloads(base: str, headers: dict, models: Models, embedders: dict[int, str], args, idle=None) -> dict:
    """Every ingestion workload against one server (the gateway or Open WebUI) at `base`; `idle`: see
    `ingest`."""
    results, last_text = {}, None
    sizes = [float(mb) for mb in args.sizes.split(",")]
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as client:
        for n, (dims, url) in enumerate(embedders.items()):
            await configure_embedding(client, dims, url)
            inputs = [(f"{mb:g}mb.txt", text_of(int(mb * (1 << 20)), f"{dims} dimensions")) for mb in sizes]
            inputs += [] if (args.no_pdf or n) else [(f"{args.pages}pages.pdf", pdf_pages(args.pages))]
            for name, body in inputs:
                seconds, status, file_id, indexed = await ingest(client, name, body, idle)
                results[f"ingest {name} at {dims} dimensions"] = {"seconds": seconds, "status": status, "indexed": indexed}
                last_text = file_id if name.endswith(".txt") else last_text
            if n == 0 and args.rag_files:
                results[f"RAG chat with a {args.rag_files}-file collection"] = await rag_chat(
                    client, models.openai, args.rag_files, 20 if args.quick else 100, idle)
            if n == 0 and not args.no_retrieval:
                results["retrieval over the last text file's chunks, HTTP round trip"] = await retrieval(
                    client, last_text, 50 if args.quick else 200)
    return results


def rows(gw: dict, owui: dict | None, rss: dict) -> list[Row]:
    o = owui or {}
    out = []
    for key in [k for k in gw if k.startswith("ingest ")]:
        out.append(Row(f"{key} (upload to {gw[key]['status']})", "s", gw[key]["seconds"], o[key]["seconds"] if key in o else None,
                       target=INGEST_VS_OPENWEBUI))
        if gw[key].get("indexed") is not None:  # Open WebUI has no work left once it says completed
            out.append(Row(f"{key} (upload to indexes built)", "s", gw[key]["indexed"], o[key]["seconds"] if key in o else None))
    for key in [k for k in gw if k.startswith("RAG chat") or k.startswith("retrieval")]:
        out.append(Row(f"{key}, p50", "ms", gw[key]["p50 ms"], o[key]["p50 ms"] if key in o else None))
    for process in ("server", "worker"):
        out.append(Row(f"peak RSS while ingesting, {process} process", "MB", rss[process],
                       rss.get("openwebui") if process == "server" else None, target=PEAK_RSS_MB))
    return out


async def main():
    args = arguments()
    dims = [int(d) for d in args.dims.split(",")]
    models = Models()
    data, env = bench_environment("gw-ingest-")
    procs, upstreams, embedders = start_upstreams(env, data, dims)
    key = migrate_and_create_key(env, connections_setup(upstreams))
    gw_port, py = free_port(), sys.executable
    server = start([py, "-m", "uvicorn", "config.asgi:application", "--port", str(gw_port), "--lifespan", "off",
                    "--log-level", "warning"], env, data / "gateway.log")
    worker = start([py, "manage.py", "worker", "-q", "ingest"], env, data / "worker.log")
    sides, rss = {}, {}
    try:
        wait_http(f"http://127.0.0.1:{gw_port}/health")
        sides["gateway"] = await ingest_workloads(f"http://127.0.0.1:{gw_port}", {"Authorization": f"Bearer {key}"},
                                                  models, embedders, args, jobs_idle(data))
        rss["server"], rss["worker"] = peak_rss_mb(server.pid), peak_rss_mb(worker.pid)
        stop_all([server, worker])
        if args.openwebui:
            from bench import openwebui as owui

            with owui.OpenWebUI(args.openwebui, upstreams, embedding_dims=dims[0]) as ui:
                sides["openwebui"] = await ingest_workloads(ui.url, ui.headers, models, embedders, args)
                rss["openwebui"] = ui.peak_rss_mb()
    finally:
        stop_all([p for p in (server, worker) if p.poll() is None] + procs, data)
    print(header("bench.ingest", dimensions=args.dims, text_sizes_MB=args.sizes, pdf_pages="none" if args.no_pdf else args.pages,
                 embedding_batch=EMBEDDING_BATCH_SIZE, rag_collection_files=args.rag_files))
    print(json.dumps({**sides, "peak RSS MB": rss}, indent=2, default=lambda v: round(v, 2)))
    print(table(rows(sides["gateway"], sides.get("openwebui"), rss), args.markdown))


if __name__ == "__main__":
    asyncio.run(main())
