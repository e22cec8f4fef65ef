"""Django's PostgreSQL backend, starting the embedded server on the first connection.

Used when DATABASE_URL is unset. Starting it here rather than in settings keeps imports free of side
effects: `manage.py embedded_db status`, `--help` or a failing self-check never start a database."""

from django.conf import settings
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        if not self.settings_dict["HOST"]:
            from config.embedded_db import socket_dir

            self.settings_dict["HOST"] = socket_dir(settings.DATA_DIR)
        return super().get_connection_params()
