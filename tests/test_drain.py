"""Drain on SIGTERM (real server processes, as production runs them: plain uvicorn, and
`manage.py serve`): `/ready` is 503 at once, new requests get 503 with Retry-After, running streams
finish within DRAIN_SECONDS, and those still open then end with the error event (and [DONE])."""

import json
import signal
import threading
import time

import httpx
import pytest

from tests.conftest import bearer, connect
from tests.server import LiveServer

HELLO = [{"role": "user", "content": "hello there"}]
CUT_OFF = "The server is shutting down; the stream was cut off."


class Stream(threading.Thread):
    """A streamed request read in the background: its lines, and an event once the first arrived."""

    def __init__(self, url: str, path: str, token: str, body: dict):
        super().__init__(daemon=True)
        self.url, self.path, self.token, self.body = url, path, token, body
        self.lines: list[str] = []
        self.status: int | None = None
        self.error: BaseException | None = None
        self.started = threading.Event()

    def run(self):
        try:
            with httpx.stream("POST", self.url + self.path, json=self.body, headers=bearer(self.token),
                              timeout=30) as response:
                self.status = response.status_code
                for line in response.iter_lines():
                    if line:
                        self.lines.append(line)
                        self.started.set()
        except BaseException as exc:  # noqa: BLE001 (reported by the test)
            self.error = exc
        finally:
            self.started.set()


def _server(tmp_path, database_url, drain_seconds: float) -> LiveServer:
    return LiveServer(database_url=database_url, data_dir=tmp_path, env={"DRAIN_SECONDS": str(drain_seconds)})


def _chat_stream(server, token) -> Stream:
    stream = Stream(server.url, "/api/chat/completions", token,
                    {"model": "llama3.1:8b", "messages": HELLO, "stream": True})
    stream.start()
    assert stream.started.wait(10) and stream.error is None, stream.error
    return stream


def _exit_code(server: LiveServer, timeout: float) -> int:
    try:
        return server.proc.wait(timeout)
    except Exception:
        server.proc.kill()
        raise AssertionError(f"the server did not exit:\n{server.log.read_text()[-3000:]}") from None


def test_sigterm_makes_ready_503_at_once_and_a_running_stream_completes(database_url, tmp_path, admin, ollama):
    connect(ollama)
    ollama.tokens, ollama.token_delay = 12, 0.15  # about 2 s of stream
    server = _server(tmp_path, database_url, 10)
    try:
        stream = _chat_stream(server, admin["token"])
        signalled = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.1)
        ready = httpx.get(f"{server.url}/ready", timeout=2)
        assert ready.status_code == 503
        assert ready.json() == {"detail": "Not ready: draining", "checks": {"drain": "draining"}}
        assert stream.is_alive(), "the stream is still running while /ready says 503"
        # a new API request (a load balancer that has not looked at /ready yet) is turned away
        refused = httpx.get(f"{server.url}/api/models", headers={**bearer(admin["token"]), "X-Request-ID": "late-1"},
                            timeout=2)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
        assert refused.headers["X-Request-ID"] == "late-1"
        assert refused.json() == {"detail": "The server is shutting down; retry shortly."}
        stream.join(10)
        assert stream.error is None and stream.status == 200
        assert stream.lines[-1] == "data: [DONE]"
        assert CUT_OFF not in "".join(stream.lines) and "error" not in "".join(stream.lines)
        content = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
                          for line in stream.lines[:-1])
        assert content == "".join(f"t{i} " for i in range(12))
        # the process goes as soon as nothing runs any more, well before DRAIN_SECONDS
        _exit_code(server, 8)
        assert time.monotonic() - signalled < 8
    finally:
        server.stop()


def test_a_stream_longer_than_the_drain_ends_with_the_error_event_and_done(database_url, tmp_path, admin, ollama):
    connect(ollama)
    ollama.tokens, ollama.token_delay = 100, 0.1  # 10 s of stream against DRAIN_SECONDS=1
    server = _server(tmp_path, database_url, 1)
    try:
        stream = _chat_stream(server, admin["token"])
        signalled = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        stream.join(8)
        assert not stream.is_alive() and stream.error is None and stream.status == 200
        assert stream.lines[-2:] == ["data: " + json.dumps({"error": {"message": CUT_OFF}}), "data: [DONE]"]
        assert 1 <= time.monotonic() - signalled < 5
        assert len(stream.lines) < 60  # cut off, not run to its end
        _exit_code(server, 8)
        assert ollama.disconnected.wait(5), "the upstream request was closed too"
    finally:
        server.stop()


@pytest.mark.parametrize(("kind", "path", "body", "last"), [
    ("ollama", "/ollama/api/chat", {"model": "llama3.1:8b", "messages": HELLO}, json.dumps({"error": CUT_OFF})),
    ("openai", "/openai/chat/completions", {"model": "gpt-4o-mini", "messages": HELLO, "stream": True},
     "data: " + json.dumps({"error": {"message": CUT_OFF}})),
])
def test_a_proxied_stream_is_cut_off_in_its_own_format(database_url, tmp_path, admin, request, kind, path, body, last):
    upstream = request.getfixturevalue("ollama" if kind == "ollama" else "openai_upstream")
    connect(upstream)
    upstream.tokens, upstream.token_delay = 100, 0.1
    server = _server(tmp_path, database_url, 1)
    try:
        stream = Stream(server.url, path, admin["token"], body)
        stream.start()
        assert stream.started.wait(10) and stream.error is None, stream.error
        server.proc.send_signal(signal.SIGTERM)
        stream.join(8)
        assert not stream.is_alive() and stream.error is None and stream.status == 200, stream.lines
        assert stream.lines[-1] == last
        _exit_code(server, 8)
    finally:
        server.stop()


def test_an_idle_server_exits_at_once_on_sigterm(database_url, tmp_path):
    server = _server(tmp_path, database_url, 30)
    try:
        signalled = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        _exit_code(server, 5)
        assert time.monotonic() - signalled < 3
    finally:
        server.stop()


def test_manage_py_serve_drains_too(database_url, tmp_path, admin, ollama):
    """`manage.py serve` (uvicorn in its own process, its worker beside it): the cut-off stream gets
    the error event and [DONE], then serve exits and takes its worker along."""
    import os
    import subprocess
    import sys

    import psutil

    from tests.server import ROOT, TEST_SECRET, free_port

    connect(ollama)
    ollama.tokens, ollama.token_delay = 100, 0.1
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path), "WEBUI_SECRET_KEY": TEST_SECRET,
           "PORT": str(port), "DRAIN_SECONDS": "1"}
    proc = subprocess.Popen([sys.executable, "manage.py", "serve", "--no-migrate"], cwd=ROOT, env=env,
                            stdout=(tmp_path / "serve.log").open("w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        children = psutil.Process(proc.pid).children(recursive=True)
        stream = Stream(url, "/api/chat/completions", admin["token"],
                        {"model": "llama3.1:8b", "messages": HELLO, "stream": True})
        stream.start()
        assert stream.started.wait(10) and stream.error is None, stream.error
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        assert httpx.get(f"{url}/ready", timeout=2).json()["detail"] == "Not ready: draining"
        stream.join(8)
        assert stream.error is None and stream.status == 200
        assert stream.lines[-2:] == ["data: " + json.dumps({"error": {"message": CUT_OFF}}), "data: [DONE]"]
        assert proc.wait(15) == 128 + signal.SIGTERM, (tmp_path / "serve.log").read_text()
        psutil.wait_procs(children, timeout=10)
        assert not [c for c in children if c.is_running()]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_worker_finishes_its_running_job_on_sigterm(database_url, tmp_path, admin, ollama):
    """Procrastinate's worker, told to stop, takes no new job and waits for the running ones (no
    graceful timeout is set): the file is processed, then the worker exits. (One killed outright
    leaves its job to the stalled-job recovery, tests/test_ingestion*.)"""
    import os

    import psutil
    from django.db import connection

    from tests.helpers import upload, use_engine, wait_done

    use_engine(ollama)
    server = _server(tmp_path, database_url, 1)
    # other ingestion workers of this run (the suite's shared server's) are paused, so that ours takes the job
    others = [p for p in psutil.Process(os.getpid()).children(recursive=True)
              if p.pid != server.worker.pid and "worker" in " ".join(p.cmdline())]
    for other in others:
        other.suspend()
    try:
        deadline = time.monotonic() + 15
        while httpx.get(f"{server.url}/ready", timeout=5).status_code != 200:  # our worker has registered
            assert time.monotonic() < deadline, "the worker did not register"
            time.sleep(0.1)
        ollama.latency = 2.0  # each embedding request: the job runs for a few seconds
        with httpx.Client(base_url=server.url, timeout=10) as api:
            file_id = upload(api, admin["token"]).json()["id"]
            deadline = time.monotonic() + 10
            with connection.cursor() as cursor:
                while True:
                    cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing' "
                                   "AND task_name LIKE %s", ["%process_file"])
                    if cursor.fetchone()[0]:
                        break
                    assert time.monotonic() < deadline, "the job did not start"
                    time.sleep(0.05)
            time.sleep(0.3)  # the job is waiting for the embedding upstream
            server.worker.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert server.worker.poll() is None, "the worker left before its job was done"
            assert server.worker.wait(20) == 0
            assert wait_done(api, admin["token"], file_id, timeout=1) == "completed"
    finally:
        for other in others:
            other.resume()
        server.stop()
