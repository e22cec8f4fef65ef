"""The admin's landing page: what needs an operator's attention, in a handful of queries."""

from datetime import timedelta

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from accounts import usage_dashboard
from accounts.models import ApiKey, Role, User
from config import runtime
from files.models import File
from knowledge.models import KnowledgeBase
from models_registry.models import Connection

WORKER_SILENCE = timedelta(minutes=2)  # a worker silent for longer counts as gone
EXPIRING = timedelta(days=7)


def summary() -> dict:
    now = timezone.now()
    users = User.objects.aggregate(total=Count("id"), pending=Count("id", filter=Q(role=Role.PENDING)))
    files = File.objects.aggregate(
        total=Count("id"),
        working=Count("id", filter=Q(status__in=[File.Status.PENDING, File.Status.PROCESSING])),
        failed=Count("id", filter=Q(status=File.Status.FAILED)),
    )
    keys = ApiKey.objects.aggregate(
        expiring=Count("id", filter=Q(expires_at__gt=now, expires_at__lte=now + EXPIRING)),
        expired=Count("id", filter=Q(expires_at__lte=now)),
    )
    connections = list(Connection.objects.order_by("kind", "position").only(
        "id", "kind", "name", "base_url", "enabled", "last_error", "last_checked_at", "models_found"))
    return {
        "dashboard": {
            "users": users,
            "files": files,
            "keys": keys,
            "collections": KnowledgeBase.objects.count(),
            "connections": connections,
            "connections_down": sum(1 for c in connections if c.enabled and c.last_error),
            "workers": _live_workers(now),
            "database": _database_version(),
            "embedding": _embedding(),
            "usage": usage_dashboard.summary(),
        }
    }


def _embedding() -> str:
    config = runtime.snapshot()
    engine, model = config["RAG_EMBEDDING_ENGINE"], config["RAG_EMBEDDING_MODEL"]
    return f"{engine}: {model}" if engine and model else "keyword search"


def _live_workers(now) -> int:
    from procrastinate.contrib.django.models import ProcrastinateWorker

    return ProcrastinateWorker.objects.filter(last_heartbeat__gte=now - WORKER_SILENCE).count()


def _database_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version'), "
                       "(SELECT extversion FROM pg_extension WHERE extname = 'vector')")
        postgres, pgvector = cursor.fetchone()
    return f"PostgreSQL {postgres}, pgvector {pgvector or 'missing'}"
