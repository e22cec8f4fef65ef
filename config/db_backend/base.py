"""Django's PostgreSQL backend with two additions.

- Without DATABASE_URL, the first connection starts the embedded server (not settings' import, so
  `manage.py embedded_db status`, `--help` or a failing self-check never start a database).
- One dead pooled connection means the database restarted and they all are: the pool is swept at
  once instead of the next requests checking the dead ones one by one with psycopg_pool's growing
  back-off (1 s, 2 s, 4 s ... up to the pool timeout for a full pool)."""

import select

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        if settings.EMBEDDED_DATABASE and not self.settings_dict["HOST"]:
            from config.embedded_db import socket_dir

            self.settings_dict["HOST"] = socket_dir(settings.DATA_DIR)
        return super().get_connection_params()

    @property
    def pool(self):
        pool = super().pool
        if pool is not None and getattr(pool, "_check", None) is not None and not getattr(pool, "_sweeps", False):
            pool._check = _sweeping_check(pool, pool._check)
            pool._sweeps = True
        return pool


def _sweeping_check(pool, check):
    def checked(conn):
        if not _suspect(conn):
            return
        try:
            check(conn)
        except Exception:
            pool.check()  # drop every other dead idle connection now; fresh ones are made at once
            raise

    return checked


def _suspect(conn) -> bool:
    """Whether an idle pooled connection needs the health check's round trip: only when it is closed or
    its socket has something to read. An idle connection is sent nothing (no LISTEN here) unless the
    server ended it (a restart, a terminated backend: its FATAL message and EOF make the socket
    readable), so a healthy one is checked with one poll instead of a round trip per checkout."""
    if conn.closed:
        return True
    try:
        poller = select.poll()  # not select(): a busy server's sockets pass fd 1024
        poller.register(conn.pgconn.socket, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError, psycopg.OperationalError):
        return True
