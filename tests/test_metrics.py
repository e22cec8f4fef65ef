"""GET /metrics: Prometheus text for an admin or the METRICS_TOKEN bearer, never anyone else; its
values move with known traffic (requests, time to first token, upstream errors, ingestion)."""

import os
import subprocess
import sys
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from config.common.processes import die_with_parent
from config.settings_test import TEST_SECRET
from tests import factories
from tests.conftest import bearer, connect
from tests.helpers import upload, wait_done
from tests.server import ROOT, LiveServer, free_port

HELLO = [{"role": "user", "content": "hello there"}]
MODEL = "llama3.1:8b"


def scrape(api, token: str) -> dict:
    """(sample name, sorted labels) -> value."""
    response = api.get("/metrics", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_refuses_anonymous_and_non_admin(api, user):
    assert api.get("/metrics").status_code == 401
    assert api.get("/metrics", headers=bearer(user["token"])).status_code == 401
    assert api.get("/metrics", headers=bearer("not-a-token")).status_code == 401


def test_three_completions_count_three_requests_and_their_tokens(api, admin, ollama):
    connect(ollama, name="local")
    before = scrape(api, admin["token"])
    for _ in range(3):
        response = api.post("/api/chat/completions", json={"model": MODEL, "messages": HELLO}, headers=bearer(admin["token"]))
        assert response.status_code == 200, response.text
    after = scrape(api, admin["token"])
    requests = "gateway_requests_total"
    assert value(after, requests, route="chat", status="200") - value(before, requests, route="chat", status="200") == 3
    count = "gateway_overhead_seconds_count"
    assert value(after, count, model=MODEL, connection="local") - value(before, count, model=MODEL, connection="local") == 3
    duration = "gateway_generation_duration_seconds_count"
    assert value(after, duration, model=MODEL, connection="local", stream="false") - value(
        before, duration, model=MODEL, connection="local", stream="false") == 3
    assert value(after, "gateway_tokens_total", model=MODEL, direction="out") > value(
        before, "gateway_tokens_total", model=MODEL, direction="out")


def test_a_stream_records_its_time_to_first_token(api, admin, ollama):
    connect(ollama, name="local")
    before = scrape(api, admin["token"])
    with api.stream("POST", "/api/chat/completions", json={"model": MODEL, "messages": HELLO, "stream": True},
                    headers=bearer(admin["token"])) as response:
        assert response.status_code == 200
        assert "data: [DONE]" in list(response.iter_lines())
    after = scrape(api, admin["token"])
    ttft = "gateway_time_to_first_token_seconds_count"
    assert value(after, ttft, model=MODEL, connection="local") - value(before, ttft, model=MODEL, connection="local") == 1
    assert value(after, "gateway_streams_in_flight") == 0
    tokens = "gateway_tokens_total"  # Ollama's last chunk reports usage
    assert value(after, tokens, model=MODEL, direction="out") > value(before, tokens, model=MODEL, direction="out")


@pytest.mark.parametrize("fault,kind", [("status", "5xx"), ("refused", "refused"), ("dropped", "dropped")])
def test_a_failing_upstream_moves_the_error_counter(api, admin, ollama, fault, kind):
    if fault == "refused":  # nothing listens there: its model list is refused
        factories.connection(kind="ollama", base_url=f"http://127.0.0.1:{free_port()}", name="broken")
    else:
        connect(ollama, name="broken")
    if fault == "status":
        ollama.fail_status = 500
    elif fault == "dropped":
        ollama.tokens, ollama.drop_after = 10, 3
    before = scrape(api, admin["token"])
    errors = "gateway_upstream_errors_total"
    for _ in range(20):
        body = {"model": MODEL, "messages": HELLO, "stream": fault == "dropped"}
        if fault == "refused":
            api.get("/api/models", params={"refresh": "true"}, headers=bearer(admin["token"]))
        else:
            api.post("/api/chat/completions", json=body, headers=bearer(admin["token"]))
        after = scrape(api, admin["token"])
        if value(after, errors, connection="broken", kind=kind) > value(before, errors, connection="broken", kind=kind):
            return
    raise AssertionError(f"no {kind} error counted")


def test_ingestion_gauges_after_an_upload(api, admin):
    body = upload(api, admin["token"]).json()
    assert wait_done(api, admin["token"], body["id"]) == "completed"
    samples = scrape(api, admin["token"])
    assert value(samples, "gateway_files", status="completed") == 1
    assert value(samples, "gateway_files", status="failed") == 0
    assert ("gateway_ingestion_queue_depth", ()) in samples
    assert ("gateway_ingestion_oldest_pending_seconds", ()) in samples
    assert value(samples, "gateway_ingestion_workers_alive") >= 1
    assert ("gateway_db_pool_in_use", ()) in samples and ("gateway_db_pool_waiting", ()) in samples


@pytest.fixture(scope="module")
def token_gateway(database_url, tmp_path_factory):
    """A server with METRICS_TOKEN, in prometheus_client's multiprocess mode (as `serve --workers N`),
    and a 1 s upstream deadline."""
    data_dir = tmp_path_factory.mktemp("metrics-server")
    multiproc = data_dir / "prometheus"
    multiproc.mkdir()
    server = LiveServer(database_url=database_url, data_dir=data_dir,
                        env={"METRICS_TOKEN": "scrape-me", "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
                             "UPSTREAM_TIMEOUT": "1"})
    yield server
    server.stop()


def test_metrics_token_is_accepted_and_multiprocess_mode_counts(token_gateway, admin):
    with httpx.Client(base_url=token_gateway.url, timeout=30) as client:
        assert client.get("/metrics", headers=bearer("wrong")).status_code == 401
        assert client.get("/health").status_code == 200
        samples = scrape(client, "scrape-me")
        assert value(samples, "gateway_requests_total", route="health", status="200") >= 1
        assert value(samples, "gateway_requests_total", route="metrics", status="401") >= 1
        assert scrape(client, admin["token"])  # an admin's token works too
    assert any((token_gateway.data_dir / "prometheus").iterdir())  # values written for every process


def test_an_upstream_timeout_is_counted(token_gateway, admin, ollama):
    connect(ollama, name="slow")
    ollama.latency = 2
    with httpx.Client(base_url=token_gateway.url, timeout=30) as client:
        before = scrape(client, "scrape-me")
        response = client.post("/api/chat/completions", json={"model": MODEL, "messages": HELLO},
                               headers=bearer(admin["token"]))
        assert response.status_code == 504, response.text
        after = scrape(client, "scrape-me")
    errors = "gateway_upstream_errors_total"
    assert value(after, errors, connection="slow", kind="timeout") - value(before, errors, connection="slow", kind="timeout") == 1


def test_serve_with_two_workers_adds_up_both_processes(database_url, tmp_path, admin):
    """`manage.py serve --workers 2` makes its own PROMETHEUS_MULTIPROC_DIR under DATA_DIR: a scrape
    counts every request, whichever process answered it; the directory goes with the server."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path), "WEBUI_SECRET_KEY": TEST_SECRET,
           "DJANGO_SETTINGS_MODULE": "config.settings_test", "METRICS_TOKEN": "scrape-me", "STATE_CACHE_SECONDS": "0"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "manage.py", "serve", "--workers", "2", "--no-worker", "--no-migrate",
                             "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=die_with_parent)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        with httpx.Client(base_url=url, timeout=10) as client:
            before = scrape(client, "scrape-me")
        for _ in range(20):  # a new connection each: the kernel spreads them over both processes
            assert httpx.get(f"{url}/health", timeout=10).status_code == 200
        with httpx.Client(base_url=url, timeout=10) as client:
            after = scrape(client, "scrape-me")
        health = "gateway_requests_total"
        assert value(after, health, route="health", status="200") - value(before, health, route="health", status="200") == 20
        runs = list((tmp_path / "prometheus").iterdir())
        assert len(runs) == 1 and any(runs[0].iterdir())
    finally:
        proc.terminate()
        proc.wait(30)
    assert list((tmp_path / "prometheus").iterdir()) == []


def test_every_connection_goes_back_to_the_pool_after_sync_and_async_requests(api, admin, ollama):
    """Async views skip Django's request-signal receivers (config/asgi_handler.py); sync views keep
    them, and both must leave no connection lent out, or the pool runs dry."""
    connect(ollama)
    headers = bearer(admin["token"])
    for _ in range(15):  # more than DB_POOL_SIZE, so a leak per request would exhaust the pool
        assert api.get("/api/v1/files/", headers=headers).status_code == 200  # DRF (sync)
        assert api.post("/api/chat/completions", headers=headers, json={"model": MODEL, "messages": HELLO}).status_code == 200
        assert api.get("/api/models", headers=headers).status_code == 200
    # the scrape's own, and the usage ledger's batch write if one runs at that moment (it hands its
    # connection back after each batch); a leak per request would show 15 or more
    assert value(scrape(api, admin["token"]), "gateway_db_pool_in_use") <= 2
