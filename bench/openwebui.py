"""Open WebUI 0.12.4, started from a venv for the side-by-side benchmarks: a throw-away DATA_DIR (its
default SQLite), a free port, fully offline, the same upstream connections the gateway bench uses,
RAG embedding through the bench's Ollama-protocol embedder, and its first user (the admin) signed
up through its REST API for a bearer token.

    with OpenWebUI("/path/to/venv", upstreams, embedding_dims=384) as ui:
        httpx.get(f"{ui.url}/api/models", headers=ui.headers)
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.run import EMBEDDING_BATCH_SIZE, Models, Upstreams
from tests.server import free_port

# Our own variables that must not leak into Open WebUI's process (it reads DATA_DIR, DATABASE_URL too)
OURS = ("DATA_DIR", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PYTHONPATH", "REDIS_URL", "WEBUI_SECRET_KEY", "VIRTUAL_ENV")


def environment(data: Path, upstreams: Upstreams, embedding_dims: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in OURS}
    return {
        **env, "DATA_DIR": str(data), "WEBUI_SECRET_KEY": "bench-secret-key-bench-secret-key-0123",
        # offline: no model download, no version check, Hugging Face never asked
        "OFFLINE_MODE": "true", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ENABLE_VERSION_UPDATE_CHECK": "false",
        # the gateway bench's connections: fast OpenAI, slow OpenAI behind the prefix "slow", Ollama
        "ENABLE_OPENAI_API": "true", "OPENAI_API_BASE_URLS": f"{upstreams.fast};{upstreams.slow}",
        "OPENAI_API_KEYS": "bench;bench", "OPENAI_API_CONFIGS": json.dumps({"1": {"prefix_id": Models.slow.split(".")[0]}}),
        "ENABLE_OLLAMA_API": "true", "OLLAMA_BASE_URLS": upstreams.ollama,
        # RAG embedding as the gateway's: the Ollama-protocol embedder, batches of EMBEDDING_BATCH_SIZE
        "RAG_EMBEDDING_ENGINE": "ollama", "RAG_EMBEDDING_MODEL": f"bench-embed-{embedding_dims}",
        "RAG_OLLAMA_BASE_URL": upstreams.ollama, "RAG_EMBEDDING_BATCH_SIZE": str(EMBEDDING_BATCH_SIZE),
        # RAG chat embeds the user's question as the gateway does, without first asking the chat model
        # for search queries (an extra upstream round trip the gateway does not make)
        "ENABLE_RETRIEVAL_QUERY_GENERATION": "false",
        "WEBUI_AUTH": "true", "ENABLE_SIGNUP": "true", "UVICORN_WORKERS": "1",
    }


def tree_pids(pid: int) -> list[int]:
    """`pid` and its descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


class OpenWebUI:
    def __init__(self, venv: str, upstreams: Upstreams, embedding_dims: int = 384, startup_seconds: float = 600):
        self.venv, self.upstreams, self.dims, self.startup_seconds = Path(venv), upstreams, embedding_dims, startup_seconds
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.headers: dict[str, str] = {}

    def __enter__(self) -> "OpenWebUI":
        executable = self.venv / "bin" / "open-webui"
        if not executable.exists():
            raise SystemExit(f"{executable} not found: pip install open-webui==0.12.4 in {self.venv}")
        self.data = Path(tempfile.mkdtemp(prefix="owui-bench-"))
        self.log = self.data / "openwebui.log"
        self.process = subprocess.Popen([str(executable), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                        cwd=self.data, env=environment(self.data, self.upstreams, self.dims),
                                        stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        try:
            self._wait_up()
            self.headers = {"Authorization": f"Bearer {self._sign_up()}"}
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_up(self) -> None:
        deadline = time.monotonic() + self.startup_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Open WebUI exited ({self.process.returncode}); see {self.log}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"Open WebUI did not come up in {self.startup_seconds:.0f} s; see {self.log}")

    def _sign_up(self) -> str:
        """The first user to sign up becomes the admin; its session JWT is the bearer token."""
        r = httpx.post(f"{self.url}/api/v1/auths/signup", timeout=60,
                       json={"name": "Bench", "email": "bench@example.com", "password": "bench-password-123"})
        r.raise_for_status()
        return r.json()["token"]

    def peak_rss_mb(self) -> float:
        """The highest peak resident memory of Open WebUI's processes (the server and any it started)."""
        peaks = []
        for pid in tree_pids(self.process.pid):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            peaks += [int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")]
        return max(peaks, default=float("nan"))

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if not exc or exc[0] is None:  # on failure its log stays for reading
            shutil.rmtree(self.data, ignore_errors=True)
