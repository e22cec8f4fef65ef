"""Gateway benchmark: added latency, time to first token, throughput, /api/models, many concurrent
streams and server memory, measured side by side with calling the upstream directly.

    .venv/bin/python -m bench.run            (about two minutes; add --quick for a smoke run)
"""

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.embedded_db import stop as stop_embedded  # noqa: E402
from tests.server import free_port  # noqa: E402

BODY = {"model": "bench-model", "messages": [{"role": "user", "content": "hi"}]}


PROFILE = "--profile" in sys.argv


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] * 1000 if values else float("nan")


def start(cmd, env, log):
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)


def wait_http(url):
    for _ in range(300):
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


def stop_all(procs, data: Path) -> None:
    """Stop the benchmark's processes, then its throw-away embedded Postgres."""
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(30)
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


async def timed_requests(client, url, headers, body, n, concurrency):
    latencies = []
    queue = asyncio.Queue()
    for _ in range(n):
        queue.put_nowait(None)

    async def worker():
        while not queue.empty():
            queue.get_nowait()
            t = time.perf_counter()
            r = await client.post(url, json=body, headers=headers) if body else await client.get(url, headers=headers)
            r.raise_for_status()
            latencies.append(time.perf_counter() - t)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, n / (time.perf_counter() - started)


async def one_stream(client, url, headers, body):
    t = time.perf_counter()
    first = None
    async with client.stream("POST", url, json=body, headers=headers) as r:
        if r.status_code != 200:
            raise RuntimeError(f"{r.status_code}: {(await r.aread())[:200]!r}")
        async for line in r.aiter_lines():
            if line.startswith("data:") and first is None:
                first = time.perf_counter() - t
            if line.strip() == "data: [DONE]":
                break
    return first, time.perf_counter() - t


async def timed_streams(client, url, headers, body, n, concurrency):
    ttft, total = [], []
    sem = asyncio.Semaphore(concurrency)

    async def one():
        async with sem:
            f, d = await one_stream(client, url, headers, body)
            ttft.append(f)
            total.append(d)

    await asyncio.gather(*(one() for _ in range(n)))
    return ttft, total


async def main(quick: bool, workers: int = 1):
    n = 200 if quick else 2000
    data, env = bench_environment("gw-bench-")
    py = sys.executable
    fast_port, slow_port, gw_port = free_port(), free_port(), free_port()
    procs = [
        start([py, "-m", "bench.upstream", "openai", str(fast_port), "0", "0"], env, data / "fast.log"),
        start([py, "-m", "bench.upstream", "openai", str(slow_port), "0.02", "32"], env, data / "slow.log"),
    ]
    key = migrate_and_create_key(env, (
        "from models_registry.models import Connection;"
        f"Connection.objects.create(kind='openai', base_url='http://127.0.0.1:{fast_port}/v1');"
        f"Connection.objects.create(kind='openai', base_url='http://127.0.0.1:{slow_port}/v1', prefix_id='slow')"))
    profiler = [py.replace("python", "py-spy"), "record", "-r", "200", "-f", "raw", "-o", str(data / "profile.txt"), "--"] if PROFILE else []
    server = start([*profiler, py, "-m", "uvicorn", "config.asgi:application", "--port", str(gw_port), "--lifespan", "off",
                    "--log-level", "warning", "--backlog", "4096", "--workers", str(workers)], env, data / "gateway.log")
    procs.append(server)
    gw, direct = f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{fast_port}/v1"
    auth = {"Authorization": f"Bearer {key}"}
    results = {}
    try:
        wait_http(f"{gw}/health")
        wait_http(f"http://127.0.0.1:{fast_port}/v1/models")
        limits = httpx.Limits(max_connections=2000, max_keepalive_connections=2000)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            await client.get(f"{gw}/api/models", headers=auth)  # warm the model cache
            await timed_requests(client, f"{gw}/api/chat/completions", auth, BODY, 50, 4)
            for c in (1, 16):
                d_lat, d_rps = await timed_requests(client, f"{direct}/chat/completions", {}, BODY, n // (4 if c == 1 else 1), c)
                g_lat, g_rps = await timed_requests(client, f"{gw}/api/chat/completions", auth, BODY, n // (4 if c == 1 else 1), c)
                results[f"non-stream c={c}"] = {
                    "direct p50 ms": pct(d_lat, 50), "gateway p50 ms": pct(g_lat, 50),
                    "added p50 ms": pct(g_lat, 50) - pct(d_lat, 50), "added p99 ms": pct(g_lat, 99) - pct(d_lat, 99),
                    "direct req/s": d_rps, "gateway req/s": g_rps, "throughput ratio": g_rps / d_rps}
                sbody = {**BODY, "stream": True}
                d_ttft, _ = await timed_streams(client, f"{direct}/chat/completions", {}, sbody, n // 4, c)
                g_ttft, _ = await timed_streams(client, f"{gw}/api/chat/completions", auth, sbody, n // 4, c)
                results[f"stream TTFT c={c}"] = {"direct p50 ms": pct(d_ttft, 50), "gateway p50 ms": pct(g_ttft, 50),
                                                 "added p50 ms": pct(g_ttft, 50) - pct(d_ttft, 50),
                                                 "added p99 ms": pct(g_ttft, 99) - pct(d_ttft, 99)}
            m_lat, m_rps = await timed_requests(client, f"{gw}/api/models", auth, None, n // 2, 16)
            m1_lat, _ = await timed_requests(client, f"{gw}/api/models", auth, None, n // 4, 1)
            results["GET /api/models (cached)"] = {"p50 ms c=1": pct(m1_lat, 50), "p99 ms c=1": pct(m1_lat, 99),
                                                   "req/s c=16": m_rps}
            ideal = 32 * 0.020
            for streams in ((200,) if quick else (200, 1000)):
                body = {**BODY, "model": "slow.bench-model", "stream": True}
                started = time.perf_counter()
                ttft, total = await timed_streams(client, f"{gw}/api/chat/completions", auth, body, streams, streams)
                results[f"{streams} concurrent streams (32 tokens, 20 ms apart)"] = {
                    "completed": len(total), "TTFT p50 ms": pct(ttft, 50), "TTFT p99 ms": pct(ttft, 99),
                    "slowest stream / ideal": max(total) / ideal, "p50 stream / ideal": statistics.median(total) / ideal,
                    "wall s": time.perf_counter() - started}
        if workers == 1:  # with several, this pid is only uvicorn's supervisor
            results["server peak RSS MB"] = peak_rss_mb(server.pid)
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT) if (PROFILE and p is server) else p.terminate()
        if PROFILE:
            server.wait(30)
            print(f"profile: {data / 'profile.txt'}")
        for p in procs:
            p.wait(30)
        stop_embedded(data)
    print(json.dumps(results, indent=2, default=lambda v: round(v, 2)))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true", help="record the server with py-spy (raw stacks in the data dir)")
    parser.add_argument("--workers", type=int, default=1, help="gateway processes (uvicorn --workers)")
    args = parser.parse_args()
    asyncio.run(main(args.quick, args.workers))
