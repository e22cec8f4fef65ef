"""Which ASGI server to run the gateway on, by figures: the same gateway under uvicorn (uvloop +
httptools, what `manage.py serve` runs; and plain asyncio + h11) and, when installed
(`pip install granian`), granian; each measured for non-stream throughput at 16 clients, the server's
CPU time per request, and time to first token of 200 simultaneous streams. One process each, the
aiohttp load generator (bench/load.py), the fast and the slow OpenAI-protocol upstreams of bench.run.

    .venv/bin/python -m bench.servers [--requests 3000]
"""

import argparse
import asyncio
import importlib.util
import json
import sys
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import AiohttpLoad  # noqa: E402
from bench.run import (  # noqa: E402
    bench_environment,
    chat,
    connections_setup,
    migrate_and_create_key,
    pct,
    start,
    start_upstreams,
    stop_all,
    timed_requests,
    timed_streams,
    wait_http,
)
from bench.targets import header  # noqa: E402
from tests.server import free_port  # noqa: E402

APP = "config.asgi:application"


def servers() -> dict[str, list[str]]:
    py = sys.executable
    uvicorn = [py, "-m", "uvicorn", APP, "--lifespan", "off", "--log-level", "warning", "--backlog", "4096", "--port"]
    found = {"uvicorn (uvloop, httptools)": [*uvicorn[:3], "--loop", "uvloop", "--http", "httptools", *uvicorn[3:]],
             "uvicorn (asyncio, h11)": [*uvicorn[:3], "--loop", "asyncio", "--http", "h11", *uvicorn[3:]]}
    if importlib.util.find_spec("granian"):
        found["granian (uvloop)"] = [py, "-m", "granian", "--interface", "asgi", "--loop", "uvloop", "--no-log",
                                     "--backlog", "4096", APP, "--port"]
    return found


def cpu_seconds(pid: int) -> float:
    process = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in [process, *process.children(recursive=True)])


async def measure(url: str, auth: dict, pid: int, n: int) -> dict:
    client = AiohttpLoad()
    try:
        await timed_requests(client, f"{url}/api/chat/completions", auth, chat("bench-model"), 200, 8)  # warm
        before = cpu_seconds(pid)
        latencies, rps = await timed_requests(client, f"{url}/api/chat/completions", auth, chat("bench-model"), n, 16)
        cpu = (cpu_seconds(pid) - before) / n * 1000
        ttft, _ = await timed_streams(client, f"{url}/api/chat/completions", auth, chat("slow.bench-model", stream=True), 200, 200)
        return {"req/s at 16 clients": rps, "p50 ms": pct(latencies, 50), "server CPU ms/request": cpu,
                "200 streams TTFT p50 ms": pct(ttft, 50), "200 streams TTFT p95 ms": pct(ttft, 95)}
    finally:
        await client.close()


async def main(n: int):
    data, env = bench_environment("gw-servers-")
    procs, upstreams, _ = start_upstreams(env, data)
    key = migrate_and_create_key(env, connections_setup(upstreams))
    auth = {"Authorization": f"Bearer {key}"}
    results = {}
    try:
        for name, command in servers().items():
            port = free_port()
            server = start([*command, str(port)], env, data / f"{name.split()[0]}.log")
            try:
                wait_http(f"http://127.0.0.1:{port}/health")
                results[name] = await measure(f"http://127.0.0.1:{port}", auth, server.pid, n)
            finally:
                server.terminate()
                server.wait(30)
    finally:
        stop_all(procs, data)
    print(header("bench.servers", requests=n, client="aiohttp"))
    print(json.dumps(results, indent=2, default=lambda v: round(v, 2)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    asyncio.run(main(parser.parse_args().requests))
