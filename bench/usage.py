"""What the usage ledger and the limit checks add to a non-streamed completion: two gateways on one
database and one upstream, one with USAGE_METERING off, the other metering with limits that apply to
the caller (requests and tokens per minute, a token budget, a cost budget, a price), measured in
alternating rounds in one run.

    .venv/bin/python -m bench.usage            (about a minute; --quick for a smoke run)
"""

import argparse
import asyncio
import json
import sys
import time

import httpx

from bench.run import BODY, bench_environment, free_port, migrate_and_create_key, pct, start, stop_all, wait_http

LIMITS = ("from accounts.models import UsageLimit, ModelPrice;"
          "UsageLimit.objects.create(scope_type='user', scope_id=str(u.id), requests_per_minute=10**9,"
          " tokens_per_minute=10**9, token_budget=10**15, cost_budget=10**9);"
          "ModelPrice.objects.create(model='bench-model', input_per_million=1, output_per_million=2)")


async def main(quick: bool) -> dict:
    rounds, per_round = (4, 50) if quick else (10, 200)
    data, env = bench_environment("gw-bench-usage-")
    py = sys.executable
    up_port, off_port, on_port = free_port(), free_port(), free_port()
    procs = [start([py, "-m", "bench.upstream", "openai", str(up_port), "0", "0"], env, data / "upstream.log")]
    key = migrate_and_create_key(env, (
        "from models_registry.models import Connection;"
        f"Connection.objects.create(kind='openai', base_url='http://127.0.0.1:{up_port}/v1');" + LIMITS))
    for port, metering in ((off_port, "false"), (on_port, "true")):
        procs.append(start([py, "-m", "uvicorn", "config.asgi:application", "--port", str(port), "--lifespan", "off",
                            "--log-level", "warning"], {**env, "USAGE_METERING": metering}, data / f"gateway-{port}.log"))
    auth = {"Authorization": f"Bearer {key}"}
    urls = {"off": f"http://127.0.0.1:{off_port}", "on": f"http://127.0.0.1:{on_port}"}
    latencies: dict[str, list[float]] = {"off": [], "on": []}
    try:
        for url in urls.values():
            wait_http(f"{url}/health")
        async with httpx.AsyncClient(timeout=60) as client:
            for url in urls.values():  # warm: model list, credentials, limits, the ledger writer
                await client.get(f"{url}/api/models", headers=auth)
                for _ in range(30):
                    (await client.post(f"{url}/api/chat/completions", json=BODY, headers=auth)).raise_for_status()
            for _ in range(rounds):
                for name, url in urls.items():
                    for _ in range(per_round):
                        # the client's own clock: admission and recording happen inside the provider call,
                        # between the moments X-Gateway-Overhead-Ms is taken at
                        started = time.perf_counter()
                        response = await client.post(f"{url}/api/chat/completions", json=BODY, headers=auth)
                        response.raise_for_status()
                        latencies[name].append(time.perf_counter() - started)
    finally:
        stop_all(procs, data)
    results = {
        "completion p50 ms, metering off": pct(latencies["off"], 50),
        "completion p50 ms, ledger + limits on": pct(latencies["on"], 50),
        "added by ledger + limits, p50 ms": pct(latencies["on"], 50) - pct(latencies["off"], 50),
        "added by ledger + limits, p99 ms": pct(latencies["on"], 99) - pct(latencies["off"], 99),
        "requests each": len(latencies["on"]),
    }
    print(json.dumps(results, indent=2, default=lambda v: round(v, 3)))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    asyncio.run(main(parser.parse_args().quick))
