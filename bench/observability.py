"""What metrics and request ids cost: a non-streamed chat completion through the gateway with them
(the production settings) and without them (bench/bare_settings.py), side by side in one run, one
client, in alternating rounds so that both sides see the same machine; and the upstream called
directly for reference. On a busy machine the HTTP figures vary by more than the cost measured, so
the run also times, in CPU time of this thread, exactly the work the "on" side adds to a request
(the request id, its header, the log context, and the request's metric updates).

    .venv/bin/python -m bench.observability [--rounds 10] [--per-round 200]
"""

import argparse
import asyncio
import datetime
import json
import os
import sys

import httpx

from bench.run import (
    ROOT,
    bench_environment,
    load_client,
    migrate_and_create_key,
    pct,
    start,
    stop_all,
    timed_requests,
    wait_http,
)
from tests.server import free_port

BODY = {"model": "bench-model", "messages": [{"role": "user", "content": "hi"}]}


async def measure(rounds: int, per_round: int) -> dict:
    data, env = bench_environment("gw-obs-")
    py = sys.executable
    upstream_port, on_port, off_port = free_port(), free_port(), free_port()
    procs = [start([py, "-m", "bench.upstream", "openai", str(upstream_port), "0", "0"], env, data / "upstream.log")]
    try:
        key = migrate_and_create_key(env, (
            "from models_registry.models import Connection;"
            f"Connection.objects.create(kind='openai', base_url='http://127.0.0.1:{upstream_port}/v1')"))
        server = [py, "-m", "uvicorn", "config.asgi:application", "--lifespan", "off", "--log-level", "warning"]
        procs.append(start([*server, "--port", str(on_port)], env, data / "on.log"))
        procs.append(start([*server, "--port", str(off_port)], {**env, "DJANGO_SETTINGS_MODULE": "bench.bare_settings"},
                           data / "off.log"))
        sides = {"on": f"http://127.0.0.1:{on_port}/api/chat/completions",
                 "off": f"http://127.0.0.1:{off_port}/api/chat/completions",
                 "direct": f"http://127.0.0.1:{upstream_port}/v1/chat/completions"}
        for port in (on_port, off_port, upstream_port):
            wait_http(f"http://127.0.0.1:{port}/health" if port != upstream_port else f"http://127.0.0.1:{port}/v1/models")
        auth = {"Authorization": f"Bearer {key}"}
        latencies: dict[str, list[float]] = {side: [] for side in sides}
        async with load_client() as client:
            for side, url in sides.items():  # warm up: caches, pooled connections
                await timed_requests(client, url, auth if side != "direct" else {}, BODY, 100, 1)
            on_has_id = httpx.post(sides["on"], json=BODY, headers=auth).headers.get("X-Request-ID")
            off_has_id = httpx.post(sides["off"], json=BODY, headers=auth).headers.get("X-Request-ID")
            assert on_has_id and not off_has_id, "the two sides differ by request ids (and metrics)"
            for _ in range(rounds):
                for side, url in sides.items():
                    found, _ = await timed_requests(client, url, auth if side != "direct" else {}, BODY, per_round, 1)
                    latencies[side] += found
    finally:
        stop_all(procs, data)
    p50 = {side: pct(values, 50) for side, values in latencies.items()}
    p99 = {side: pct(values, 99) for side, values in latencies.items()}
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(), "load average (1 min) at the end": os.getloadavg()[0],
        "requests per side": rounds * per_round, "rounds": rounds, "client concurrency": 1,
        "p50 ms": p50, "p99 ms": p99,
        "cost of metrics + request ids, p50 ms": p50["on"] - p50["off"],
        "added by the gateway, p50 ms (on / off)": [p50["on"] - p50["direct"], p50["off"] - p50["direct"]],
        "on / off p50 ratio": p50["on"] / p50["off"],
    }


def in_process_cost(n: int = 20000) -> float:
    """CPU µs per request of what request ids and metrics add to a non-streamed completion."""
    import time

    import django
    from django.http import HttpResponse

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from config.common import metrics, requestlog

    class Connection:
        name, kind, pk = "bench", "openai", 1

    conn, response, usage = Connection(), HttpResponse(b"{}"), {"prompt_tokens": 7, "completion_tokens": 3}

    def one() -> None:
        context = requestlog.begin(None)
        requestlog.note_user("0b5e0c1f-53b1-4a41-8c3e-9c1e3e1b8e21")
        requestlog.note_model("bench-model")
        requestlog.upstream_headers()
        metrics.observe_overhead("bench-model", conn, 0.0012)
        metrics.DURATION.labels("bench-model", "bench", "false").observe(0.02)
        metrics.observe_usage("bench-model", usage)
        response[requestlog.HEADER] = context.request_id
        metrics.REQUESTS.labels(metrics.route_family("/api/chat/completions"), "200").inc()

    for _ in range(1000):
        one()
    started = time.thread_time()
    for _ in range(n):
        one()
    return (time.thread_time() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=200)
    args = parser.parse_args()
    os.chdir(ROOT)
    results = asyncio.run(measure(args.rounds, args.per_round))
    results["in-process CPU cost per request, µs"] = in_process_cost()
    print(json.dumps(results, indent=2, ensure_ascii=False, default=lambda v: round(v, 3)))


if __name__ == "__main__":
    main()
