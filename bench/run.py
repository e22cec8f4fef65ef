"""Gateway benchmark: added latency, time to first token, throughput, /api/models, many concurrent
streams and server memory, measured side by side with calling the upstream directly and, with
`--openwebui VENV`, with Open WebUI 0.12.4 (installed in that venv) over the same upstreams in the
same run. Every workload is one function of (base URL, headers, model ids): the same client measures
both servers, as our API is Open WebUI's.

    .venv/bin/python -m bench.run [--quick] [--openwebui /path/to/venv] [--markdown]
"""

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402
from bench.targets import PEAK_RSS_MB, THROUGHPUT_OF_DIRECT, TTFT_P95_MS, Row, header, table  # noqa: E402
from config.embedded_db import stop as stop_embedded  # noqa: E402
from tests.server import free_port  # noqa: E402

BODY = {"model": "bench-model", "messages": [{"role": "user", "content": "hi"}]}
STREAM_TOKENS, TOKEN_DELAY = 32, 0.020  # the slow upstream's streams
EMBEDDING_BATCH_SIZE = 64  # texts per embedding request, on both servers


PROFILE = "--profile" in sys.argv
CLIENT = sys.argv[sys.argv.index("--client") + 1] if "--client" in sys.argv else "httpx"


@dataclass(frozen=True)
class Models:
    """The model ids both servers expose for the bench upstreams."""
    openai: str = "bench-model"  # the fast OpenAI-protocol upstream
    ollama: str = "bench-ollama"  # the Ollama-protocol upstream
    slow: str = "slow.bench-model"  # the slow streaming OpenAI-protocol upstream, behind the prefix "slow"


@dataclass(frozen=True)
class Upstreams:
    fast: str  # OpenAI-protocol base URL (…/v1)
    slow: str  # OpenAI-protocol base URL (…/v1), STREAM_TOKENS tokens TOKEN_DELAY apart
    ollama: str  # Ollama-protocol base URL: chat and embeddings


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] * 1000 if values else float("nan")


def start(cmd, env, log, cwd=ROOT):
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)


def wait_http(url, tries=300):
    for _ in range(tries):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def peak_rss_mb(pid) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_environment(prefix: str) -> tuple[Path, dict]:
    """A throw-away DATA_DIR (its own embedded Postgres) and the environment for every process."""
    data = Path(tempfile.mkdtemp(prefix=prefix))
    env = {**os.environ, "DATA_DIR": str(data), "WEBUI_SECRET_KEY": "bench-secret-key-bench-secret-key-0123",
           "DB_POOL_SIZE": "10", "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    return data, env


def start_upstreams(env, data: Path, embedding_dims=(384,)) -> tuple[list, Upstreams, dict[int, str]]:
    """The fast and the slow OpenAI-protocol upstreams and one Ollama-protocol upstream (chat, and
    embeddings of the first size) per embedding size; returns them with the Ollama URL of each size."""
    py, fast, slow = sys.executable, free_port(), free_port()
    ollama = {dims: free_port() for dims in embedding_dims}
    procs = [start([py, "-m", "bench.upstream", "openai", str(fast), "0", "0"], env, data / "fast.log"),
             start([py, "-m", "bench.upstream", "openai", str(slow), str(TOKEN_DELAY), str(STREAM_TOKENS)], env, data / "slow.log")]
    procs += [start([py, "-m", "bench.upstream", "ollama", str(port), "0", "0", str(dims), Models.ollama], env,
                    data / f"ollama-{dims}.log") for dims, port in ollama.items()]
    urls = {dims: f"http://127.0.0.1:{port}" for dims, port in ollama.items()}
    wait_http(f"http://127.0.0.1:{fast}/v1/models")
    wait_http(f"http://127.0.0.1:{slow}/v1/models")
    for url in urls.values():
        wait_http(f"{url}/api/version")
    return procs, Upstreams(f"http://127.0.0.1:{fast}/v1", f"http://127.0.0.1:{slow}/v1", urls[embedding_dims[0]]), urls


def stop_all(procs, data: Path | None = None) -> None:
    """Stop the benchmark's processes, then (given its data dir) its throw-away embedded Postgres."""
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(30)
    if data is not None:
        stop_embedded(data)


def migrate_and_create_key(env: dict, setup: str, lines: int = 1):
    """Migrate, create an admin `u`, run `setup` (Python using `u`), and return a fresh API key (or,
    with `lines` > 1, that many last lines of output, the key last)."""
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    code = ("from accounts.models import User; from accounts import api_keys;"
            "u=User.objects.create_user('bench@example.com','pw',name='Bench',role='admin');"
            f"{setup};print(api_keys.create(user=u, name='bench')[1])")
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout.strip().splitlines()
    return out[-1] if lines == 1 else out[-lines:]


def connections_setup(upstreams: Upstreams) -> str:
    """Python for `migrate_and_create_key`: the gateway's connections to the bench upstreams."""
    return ("from models_registry.models import Connection;"
            f"Connection.objects.create(kind='openai', base_url='{upstreams.fast}');"
            f"Connection.objects.create(kind='openai', base_url='{upstreams.slow}', prefix_id='slow');"
            f"Connection.objects.create(kind='ollama', base_url='{upstreams.ollama}')")


def start_gateway(env, data: Path, port: int, workers: int = 1, profile: bool = False):
    profiler = [sys.executable.replace("python", "py-spy"), "record", "-r", "200", "-f", "raw", "-o",
                str(data / "profile.txt"), "--"] if profile else []
    server = start([*profiler, sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port),
                    "--lifespan", "off", "--log-level", "warning", "--backlog", "4096", "--workers", str(workers)],
                   env, data / "gateway.log")
    wait_http(f"http://127.0.0.1:{port}/health")
    return server


async def timed_requests(client, url, headers, body, n, concurrency):
    latencies = []
    queue = asyncio.Queue()
    for _ in range(n):
        queue.put_nowait(None)

    async def worker():
        while not queue.empty():
            queue.get_nowait()
            t = time.perf_counter()
            await client.call(url, headers, body)
            latencies.append(time.perf_counter() - t)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, n / (time.perf_counter() - started)


async def timed_streams(client, url, headers, body, n, concurrency):
    ttft, total = [], []
    sem = asyncio.Semaphore(concurrency)

    async def one():
        async with sem:
            f, d = await client.stream(url, headers, body)
            ttft.append(f)
            total.append(d)

    await asyncio.gather(*(one() for _ in range(n)))
    return ttft, total


def chat(model: str, **extra) -> dict:
    return {**BODY, "model": model, **extra}


async def direct_workloads(client, upstreams: Upstreams, models: Models, n: int, stream_counts=()) -> dict:
    """The upstreams called directly, with the request counts `chat_workloads` uses."""
    ollama_body = {**chat(models.ollama), "stream": False}
    results = {}
    for c in (1, 16):
        count = n // (4 if c == 1 else 1)
        results[f"openai c={c}"] = await timed_requests(client, f"{upstreams.fast}/chat/completions", {}, chat(models.openai), count, c)
        results[f"ollama c={c}"] = await timed_requests(client, f"{upstreams.ollama}/api/chat", {}, ollama_body, count, c)
        results[f"stream TTFT c={c}"] = (await timed_streams(client, f"{upstreams.fast}/chat/completions", {},
                                                             chat(models.openai, stream=True), n // 4, c))[0]
    for streams in stream_counts:  # the slow upstream's own figure: what the load generator and the upstream take
        ttft, _ = await timed_streams(client, f"{upstreams.slow}/chat/completions", {}, chat("bench-model", stream=True), streams, streams)
        results[f"{streams} streams TTFT"] = ttft
    return results


async def chat_workloads(client, base: str, headers: dict, models: Models, n: int, stream_counts) -> dict:
    """Every chat workload against one server (the gateway or Open WebUI) at `base`."""
    url = f"{base}/api/chat/completions"
    await client.call(f"{base}/api/models", headers, None)  # warm the model cache
    await timed_requests(client, url, headers, chat(models.openai), 50, 4)
    results = {}
    for c in (1, 16):
        count = n // (4 if c == 1 else 1)
        results[f"openai c={c}"] = await timed_requests(client, url, headers, chat(models.openai), count, c)
        results[f"ollama c={c}"] = await timed_requests(client, url, headers, chat(models.ollama), count, c)
        results[f"stream TTFT c={c}"] = (await timed_streams(client, url, headers, chat(models.openai, stream=True), n // 4, c))[0]
    results["models c=1"] = await timed_requests(client, f"{base}/api/models", headers, None, n // 4, 1)
    results["models c=16"] = await timed_requests(client, f"{base}/api/models", headers, None, n // 2, 16)
    for streams in stream_counts:
        started = time.perf_counter()
        ttft, total = await timed_streams(client, url, headers, chat(models.slow, stream=True), streams, streams)
        results[f"{streams} streams"] = {"ttft": ttft, "total": total, "wall": time.perf_counter() - started}
    return results


def summary(side: dict, direct: dict) -> dict:
    """The figures of one server's `chat_workloads`, with the direct upstream's for comparison."""
    out = {}
    for c in (1, 16):
        for kind in ("openai", "ollama"):
            (lat, rps), (d_lat, d_rps) = side[f"{kind} c={c}"], direct[f"{kind} c={c}"]
            out[f"non-stream {kind} c={c}"] = {"p50 ms": pct(lat, 50), "added p50 ms": pct(lat, 50) - pct(d_lat, 50),
                                               "added p99 ms": pct(lat, 99) - pct(d_lat, 99), "req/s": rps,
                                               "direct req/s": d_rps, "of direct": rps / d_rps}
        ttft, d_ttft = side[f"stream TTFT c={c}"], direct[f"stream TTFT c={c}"]
        out[f"stream TTFT c={c}"] = {"p50 ms": pct(ttft, 50), "added p50 ms": pct(ttft, 50) - pct(d_ttft, 50),
                                     "added p99 ms": pct(ttft, 99) - pct(d_ttft, 99)}
    out["GET /api/models"] = {"p50 ms c=1": pct(side["models c=1"][0], 50), "p99 ms c=1": pct(side["models c=1"][0], 99),
                              "req/s c=16": side["models c=16"][1]}
    ideal = STREAM_TOKENS * TOKEN_DELAY
    for key in [k for k in side if k.endswith(" streams")]:
        s = side[key]
        out[f"{key} at once ({STREAM_TOKENS} tokens, {TOKEN_DELAY * 1000:.0f} ms apart)"] = {
            "completed": len(s["total"]), "TTFT p50 ms": pct(s["ttft"], 50), "TTFT p95 ms": pct(s["ttft"], 95),
            "TTFT p99 ms": pct(s["ttft"], 99), "slowest stream / ideal": max(s["total"]) / ideal,
            "p50 stream / ideal": statistics.median(s["total"]) / ideal, "wall s": s["wall"],
            **({"direct TTFT p95 ms": pct(direct[f"{key} TTFT"], 95)} if f"{key} TTFT" in direct else {})}
    return out


def rows(gw: dict, owui: dict | None, rss: dict) -> list[Row]:
    """The side-by-side table: the gateway's figures, Open WebUI's where it ran, the direct upstream's."""
    o = owui or {}

    def pick(key, figure):
        return o[key][figure] if key in o else None

    out = []
    for kind, label in (("openai", "OpenAI"), ("ollama", "Ollama")):
        out.append(Row(f"chat non-stream, added latency p50, 1 client ({label} model)", "ms",
                       gw[f"non-stream {kind} c=1"]["added p50 ms"], pick(f"non-stream {kind} c=1", "added p50 ms")))
    for kind, label in (("openai", "OpenAI"), ("ollama", "Ollama")):
        key = f"non-stream {kind} c=16"
        out.append(Row(f"chat throughput at 16 clients ({label} model)", "req/s", gw[key]["req/s"], pick(key, "req/s"),
                       gw[key]["direct req/s"], higher_is_better=True, target=THROUGHPUT_OF_DIRECT))
    out.append(Row("stream, added time to first token p50, 1 client", "ms", gw["stream TTFT c=1"]["added p50 ms"],
                   pick("stream TTFT c=1", "added p50 ms")))
    out.append(Row("GET /api/models p50, 1 client", "ms", gw["GET /api/models"]["p50 ms c=1"], pick("GET /api/models", "p50 ms c=1")))
    for key in [k for k in gw if "streams at once" in k]:
        count = key.split()[0]
        out.append(Row(f"{count} simultaneous streams, time to first token p95", "ms", gw[key]["TTFT p95 ms"],
                       pick(key, "TTFT p95 ms"), gw[key].get("direct TTFT p95 ms"), target=TTFT_P95_MS if count == "200" else None))
        out.append(Row(f"{count} simultaneous streams, slowest stream / ideal", "×", gw[key]["slowest stream / ideal"],
                       pick(key, "slowest stream / ideal")))
    if "gateway" in rss:
        out.append(Row("server peak RSS (per process)", "MB", rss["gateway"], rss.get("openwebui"), target=PEAK_RSS_MB))
    return out


@contextlib.asynccontextmanager
async def load_client(kind: str | None = None):
    """The load generator's client (bench/load.py), the same for every side."""
    client = load.CLIENTS[kind or CLIENT]()
    try:
        yield client
    finally:
        await client.close()


async def run_side(base: str, headers: dict, models: Models, n: int, stream_counts) -> dict:
    async with load_client() as client:
        return await chat_workloads(client, base, headers, models, n, stream_counts)


async def measure_direct(upstreams: Upstreams, models: Models, n: int, stream_counts=()) -> dict:
    async with load_client() as client:
        return await direct_workloads(client, upstreams, models, n, stream_counts)


async def main(quick: bool, workers: int = 1, openwebui: str | None = None, markdown: bool = False):
    n = 200 if quick else 2000
    stream_counts = (200,) if quick else (200, 1000)
    models = Models()
    data, env = bench_environment("gw-bench-")
    procs, upstreams, _ = start_upstreams(env, data)
    gw_port = free_port()
    key = migrate_and_create_key(env, connections_setup(upstreams))
    server = None
    rss, sides = {}, {}
    try:
        # the direct upstream is measured right before each server, under the same conditions
        server = start_gateway(env, data, gw_port, workers, PROFILE)
        direct = await measure_direct(upstreams, models, n, stream_counts)
        sides["gateway"] = summary(await run_side(f"http://127.0.0.1:{gw_port}", {"Authorization": f"Bearer {key}"},
                                                  models, n, stream_counts), direct)
        if workers == 1:  # with several, this pid is only uvicorn's supervisor
            rss["gateway"] = peak_rss_mb(server.pid)
        server.send_signal(signal.SIGINT) if PROFILE else server.terminate()
        server.wait(30)
        if PROFILE:
            print(f"profile: {data / 'profile.txt'}")
        if openwebui:
            from bench import openwebui as owui

            with owui.OpenWebUI(openwebui, upstreams, embedding_dims=384) as ui:
                direct = await measure_direct(upstreams, models, n, stream_counts)
                sides["openwebui"] = summary(await run_side(ui.url, ui.headers, models, n, stream_counts), direct)
                rss["openwebui"] = ui.peak_rss_mb()
    finally:
        if server and server.poll() is None:
            server.terminate()
            server.wait(30)
        stop_all(procs, data)
    print(header("bench.run", workers=workers, client=CLIENT, requests=n, streams=", ".join(map(str, stream_counts)),
                 stream=f"{STREAM_TOKENS} tokens {TOKEN_DELAY * 1000:.0f} ms apart"))
    print(json.dumps(sides, indent=2, default=lambda v: round(v, 2)))
    print(table(rows(sides["gateway"], sides.get("openwebui"), rss), markdown))
    return sides


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true", help="record the server with py-spy (raw stacks in the data dir)")
    parser.add_argument("--workers", type=int, default=1, help="gateway processes (uvicorn --workers)")
    parser.add_argument("--openwebui", metavar="VENV", help="also measure Open WebUI 0.12.4 installed in this venv")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--client", choices=sorted(load.CLIENTS), default="httpx", help="the load generator's HTTP client (bench/load.py)")
    args = parser.parse_args()
    asyncio.run(main(args.quick, args.workers, args.openwebui, args.markdown))
