from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "config"
    verbose_name = "Runtime settings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.core import signals
        from django.db import close_old_connections

        from config.common import routers, schema  # noqa: F401 (register the <id:> path converter, the schema's bearer authentication)

        # Under ASGI each signal receiver that touches the database costs a thread hop per request.
        # Connections are pooled and given back when requests finish (and after every unit of async
        # ORM work, see config.common.db), so the start-of-request sweep is not needed.
        signals.request_started.disconnect(close_old_connections)
