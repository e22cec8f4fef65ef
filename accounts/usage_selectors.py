"""Reads of the usage ledger: a caller's own usage (admins: anyone's), grouped by day and model, and
the aggregates Open WebUI's analytics routes answer with. Each is one aggregate query."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate

from accounts import access
from accounts.models import ModelPrice, UsageLimit, UsageRecord, User
from config.common.errors import ApplicationError

GROUPS = {"day": "day", "model": "model", "user": "user_id", "key": "api_key_id"}
ONLY_ADMINS = "Only administrators may read other users' usage."


def records(user, *, user_id=None, api_key_id=None, model: str = "", start: int | None = None,
            end: int | None = None) -> QuerySet[UsageRecord]:
    """The ledger rows `user` may read, narrowed to a user, key, model and time (epoch seconds)."""
    qs = UsageRecord.objects.all()
    if not access.is_admin(user):
        if user_id is not None and str(user_id) != str(user.pk):
            raise ApplicationError(403, ONLY_ADMINS)
        qs = qs.filter(user_id=user.pk)
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    if api_key_id is not None:
        qs = qs.filter(api_key_id=api_key_id)
    if model:
        qs = qs.filter(model=model)
    if start is not None:
        qs = qs.filter(created_at__gte=datetime.fromtimestamp(start, UTC))
    if end is not None:
        qs = qs.filter(created_at__lte=datetime.fromtimestamp(end, UTC))
    return qs


TOTALS = {
    "requests": Count("id"), "prompt_tokens": Coalesce(Sum("prompt_tokens"), 0),
    "completion_tokens": Coalesce(Sum("completion_tokens"), 0), "total_tokens": Coalesce(Sum("total_tokens"), 0),
    "cost": Sum("cost"), "errors": Count("id", filter=~Q(status="ok")),
}


def grouped(qs: QuerySet[UsageRecord], group_by: list[str], zone: str) -> list[dict]:
    """Totals per group (day in `zone`, model, user, key), days first then by model."""
    fields = [GROUPS[g] for g in group_by]
    if "day" in group_by:
        qs = qs.annotate(day=TruncDate("created_at", tzinfo=ZoneInfo(zone)))
    rows = list(qs.values(*fields).annotate(**TOTALS).order_by(*fields))
    for row in rows:
        if "day" in row:
            row["day"] = row["day"].isoformat()
        for key in ("user_id", "api_key_id"):
            if row.get(key) is not None:
                row[key] = str(row[key])
        row["cost"] = float(row["cost"]) if row["cost"] is not None else None
    return rows


def totals(qs: QuerySet[UsageRecord]) -> dict:
    row = qs.aggregate(**TOTALS)
    row["cost"] = float(row["cost"]) if row["cost"] is not None else None
    return row


def users_per_model(qs: QuerySet[UsageRecord]) -> dict[str, int]:
    return dict(qs.order_by().values("model").annotate(users=Count("user_id", distinct=True)).values_list("model", "users"))


def counts(qs: QuerySet[UsageRecord]) -> dict:
    return qs.aggregate(messages=Count("id"), models=Count("model", distinct=True), users=Count("user_id", distinct=True))


def top_users(qs: QuerySet[UsageRecord], *, limit: int, by_tokens: bool) -> list[dict]:
    """Open WebUI's /analytics/users entries, with each user's name and email (two queries)."""
    rows = list(qs.exclude(user_id=None).values("user_id").annotate(**TOTALS)
                .order_by("-total_tokens" if by_tokens else "-requests", "-requests")[:limit])
    people = {u.pk: u for u in User.objects.filter(pk__in=[r["user_id"] for r in rows]).only("id", "name", "email")}
    return [{"user_id": str(r["user_id"]), "name": getattr(people.get(r["user_id"]), "name", None),
             "email": getattr(people.get(r["user_id"]), "email", None), "count": r["requests"],
             "input_tokens": r["prompt_tokens"], "output_tokens": r["completion_tokens"], "total_tokens": r["total_tokens"]}
            for r in rows]


def recent_activity(minutes: int = 5) -> tuple[list[str], int]:
    """Models called and users calling in the last minutes (Open WebUI's /api/usage)."""
    since = datetime.now(UTC) - timedelta(minutes=minutes)
    recent = UsageRecord.objects.filter(created_at__gte=since)
    models = sorted(recent.order_by().values_list("model", flat=True).distinct())
    return models, recent.exclude(user_id=None).order_by().values("user_id").distinct().count()


def usage_limits(*, scope_type: str = "", scope_id: str = "") -> QuerySet[UsageLimit]:
    """Every limit row (admins only: the views say so), narrowed to a scope."""
    qs = UsageLimit.objects.all()
    if scope_type:
        qs = qs.filter(scope_type=scope_type)
    if scope_id:
        qs = qs.filter(scope_id=scope_id)
    return qs


def usage_limit(limit_id) -> UsageLimit | None:
    return UsageLimit.objects.filter(pk=limit_id).first()


def prices() -> QuerySet[ModelPrice]:
    return ModelPrice.objects.all()


def price(model: str) -> ModelPrice | None:
    return ModelPrice.objects.filter(pk=model).first()
