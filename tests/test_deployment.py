"""The tested deployment (deploy/): Debian's nginx in front of 2 server processes, 2 ingestion
workers, the machine's Redis and a Postgres over TCP, as `deploy/run-local` brings it up. Skipped,
with a warning, only when nginx is not installed (scripts/_system_packages.sh installs it)."""

import json
import shutil
import signal
import tempfile
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
from websockets.sync.client import connect as ws_connect

from deploy.local import FAIL_TIMEOUT, Topology, nginx_binary
from tests.conftest import bearer
from tests.server import free_port
from tests.upstreams import FakeUpstream

pytestmark = pytest.mark.timeout(600)  # the topology starts in ~15 s alone, several times that on a loaded machine

ADMIN = {"email": "ops@example.com", "password": "deploy pass 1"}
HELLO = {"model": "llama3.1:8b", "messages": [{"role": "user", "content": "hello"}]}
REDIS_DB = 13  # a database of the machine's Redis of its own


@pytest.fixture(scope="module")
def upstream():
    fake = FakeUpstream("ollama", models=["llama3.1:8b"]).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def deployment(upstream):
    if nginx_binary() is None:
        warnings.warn("nginx is not installed: the deployment test is SKIPPED (apt-get install nginx)")
        pytest.skip("nginx is not installed")
    # Not under pytest's tmp_path: its folder is private to root (Postgres runs as its own user there)
    # and other pytest runs of the machine may delete it.
    data_dir = Path(tempfile.mkdtemp(prefix="gateway-deploy-"))
    topology = Topology(
        data_dir=data_dir, servers=2, workers=2, port=free_port(),
        redis_url=f"redis://127.0.0.1:6379/{REDIS_DB}", upstream_header=True,
        env={"DJANGO_SETTINGS_MODULE": "config.settings_test", "WEBUI_ADMIN_EMAIL": ADMIN["email"],
             "WEBUI_ADMIN_PASSWORD": ADMIN["password"], "OLLAMA_BASE_URL": upstream.url, "DRAIN_SECONDS": "20",
             "UVICORN_LOG_LEVEL": "warning"})
    try:
        topology.start()
        yield topology
    finally:
        topology.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def token(deployment) -> str:
    response = httpx.post(f"{deployment.url}/api/v1/auths/signin", json=ADMIN, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["token"]


@pytest.fixture(autouse=True)
def _plain_upstream(upstream):
    upstream.tokens, upstream.token_delay, upstream.latency = None, 0.0, 0.0


def _served_by(response) -> str:
    return response.headers["X-Upstream-Addr"].split(",")[-1].strip()  # the last one tried answered


def _index(deployment, addr: str) -> int:
    return deployment.server_ports.index(int(addr.rsplit(":", 1)[1]))


def test_sse_streams_through_nginx_chunk_by_chunk(deployment, token, upstream):
    upstream.tokens, upstream.token_delay = 8, 0.15
    arrivals = []
    with httpx.stream("POST", f"{deployment.url}/api/chat/completions", json={**HELLO, "stream": True},
                      headers=bearer(token), timeout=30) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                arrivals.append((time.monotonic(), line))
    assert arrivals[-1][1] == "data: [DONE]"
    assert arrivals[-1][0] - arrivals[0][0] > 0.8, "chunks arrived as they were made, not all at the end"


def test_a_websocket_stays_on_one_process_while_the_next_request_lands_on_the_other(deployment, token):
    url = deployment.url.replace("http://", "ws://") + f"/ws/chat/?token={token}"
    with ws_connect(url, open_timeout=30) as ws:
        socket_process = _served_by(ws.response)
        assert json.loads(ws.recv(30))["type"] == "ready"
        others: set[str] = set()
        # round robin: the next requests reach the other process too (within nginx's fail_timeout, should
        # it have seen a process still starting when the topology came up)
        deadline = time.monotonic() + FAIL_TIMEOUT + 2
        while not others - {socket_process} and time.monotonic() < deadline:
            response = httpx.get(f"{deployment.url}/api/models", headers=bearer(token), timeout=30)
            assert response.status_code == 200
            others.add(_served_by(response))
            time.sleep(0.1)
        assert others - {socket_process}, "plain requests land on the other process too"
        ws.send(json.dumps({"type": "chat", "id": "c1", "body": HELLO}))
        kinds = []
        while not kinds or kinds[-1] not in ("done", "error"):
            kinds.append(json.loads(ws.recv(30))["type"])
        assert kinds[-1] == "done" and "chunk" in kinds


def test_uploads_are_spread_over_both_workers(deployment, token):
    def upload(i):
        response = httpx.post(f"{deployment.url}/api/v1/files/", headers=bearer(token), timeout=60,
                              files={"file": (f"f{i}.txt", f"file number {i} ".encode() * 2000, "text/plain")})
        assert response.status_code == 200, response.text
        return response.json()["id"]

    workers: set[int] = set()
    for _ in range(5):  # jobs are taken by whichever worker asks first: a few batches at most
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(upload, range(8)))
        _wait_completed(deployment, token, ids)
        with psycopg.connect(deployment.env["DATABASE_URL"]) as conn:
            workers |= {row[0] for row in conn.execute(
                "SELECT DISTINCT worker_id FROM procrastinate_jobs WHERE task_name LIKE '%%process_file' "
                "AND status = 'succeeded' AND worker_id IS NOT NULL")}
        if len(workers) >= 2:
            break
    assert len(workers) == 2


def _wait_completed(deployment, token, ids, timeout=60):
    deadline = time.monotonic() + timeout
    for file_id in ids:
        while True:
            status = httpx.get(f"{deployment.url}/api/v1/files/{file_id}/process/status", headers=bearer(token),
                               timeout=30).json()["status"]
            if status == "completed":
                break
            assert status != "failed" and time.monotonic() < deadline, status
            time.sleep(0.1)


def test_draining_a_process_lets_its_open_streams_finish(deployment, token, upstream):
    upstream.tokens, upstream.token_delay = 20, 0.1  # a 2 s stream
    lines: list[str] = []
    opened, served = threading.Event(), []

    def stream():
        with httpx.stream("POST", f"{deployment.url}/api/chat/completions", json={**HELLO, "stream": True},
                          headers=bearer(token), timeout=60) as response:
            served.append(_served_by(response))
            for line in response.iter_lines():
                if line:
                    lines.append(line)
                    opened.set()

    reader = threading.Thread(target=stream, daemon=True)
    reader.start()
    assert opened.wait(30)
    draining = _index(deployment, served[0])
    other = 1 - draining
    deployment.servers[draining].send_signal(signal.SIGTERM)
    time.sleep(0.2)
    for _ in range(4):  # new requests keep succeeding: nginx sends them to the other process
        assert httpx.post(f"{deployment.url}/api/chat/completions", json=HELLO, headers=bearer(token),
                          timeout=30).status_code == 200
    assert httpx.get(f"{deployment.server_url(other)}/ready", timeout=10).status_code == 200
    reader.join(30)
    assert lines[-1] == "data: [DONE]" and not any('"error"' in line for line in lines), lines[-3:]
    deployment.servers[draining].wait(30)  # it exits once drained (TimeoutExpired otherwise)
    deployment.start_server(draining)
    deployment.wait_for(f"{deployment.server_url(draining)}/health")


def test_killing_a_server_process_mid_run_loses_no_completed_request_and_the_other_stays_ready(deployment, token,
                                                                                             upstream):
    upstream.latency = 0.05
    statuses: list[int] = []
    ready: list[int] = []
    time.sleep(FAIL_TIMEOUT + 0.5)  # nginx's memory of an earlier test's drained process (its 503s) runs out

    failures: list[str] = []

    def traffic():
        for _ in range(30):
            response = httpx.post(f"{deployment.url}/api/chat/completions", json=HELLO, headers=bearer(token), timeout=30)
            statuses.append(response.status_code)
            if response.status_code != 200:
                failures.append(f"{response.status_code} via {response.headers.get('X-Upstream-Addr')}: {response.text[:300]}")

    runner = threading.Thread(target=traffic, daemon=True)
    runner.start()
    while len(statuses) < 5:
        time.sleep(0.05)
    deployment.servers[0].kill()
    while runner.is_alive():
        ready.append(httpx.get(f"{deployment.server_url(1)}/ready", timeout=10).status_code)
        time.sleep(0.1)
    assert statuses == [200] * 30, failures
    assert ready and set(ready) == {200}
    deployment.servers[0].wait(10)
