"""What `serve`, the worker and the test set-up do before anything else: check that the configured
database can serve vector search, and stop with one clear message if it cannot."""

import sys

from django.conf import settings
from django.db import connections
from psycopg.conninfo import make_conninfo

from config import vector_check


def database_conninfo(alias: str = "default") -> str:
    """A libpq connection string for `alias` (starting the embedded server if that is the one)."""
    params = connections[alias].get_connection_params()
    return make_conninfo(**{k: v for k, v in params.items() if isinstance(v, str | int) and v != ""})


def check_database_or_exit(alias: str = "default") -> str:
    """The pgvector version, or exit with status 3 and the reason on stderr."""
    try:
        return check_database(alias)
    except vector_check.VectorCheckFailed as exc:
        sys.stderr.write(f"\nDatabase self-check failed: {exc}\n\n")
        sys.stderr.flush()
        raise SystemExit(3) from None


def check_database(alias: str = "default") -> str:
    hint = ""
    if settings.EMBEDDED_DATABASE:
        from config.embedded_db import log_path

        hint = f" (This is the embedded database; its log is {log_path(settings.DATA_DIR)}.)"
    try:
        conninfo = database_conninfo(alias)
    except Exception as exc:  # noqa: BLE001 (the embedded server failed to start, whatever the reason)
        raise vector_check.VectorCheckFailed(f"The embedded database did not start: {exc}.{hint} {vector_check.FIX}")
    return vector_check.check(conninfo, log_hint=hint)
