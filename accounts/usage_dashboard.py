"""The admin dashboard's usage section: tokens and requests per day per model as server-rendered SVG
bar charts (no script, no CDN), the top users and API keys of the last 30 days against their limits.
A handful of aggregate queries."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.models import ApiKey, UsageLimit, UsageRecord, User
from config import runtime

DAYS = 14
TOP = 8
COLORS = ("#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d")
OTHER_COLOR = "#9ca3af"
WIDTH, HEIGHT, PAD = 700, 180, 28


def summary() -> dict:
    zone = ZoneInfo(runtime.get("USAGE_TIME_ZONE"))
    today = datetime.now(zone).date()
    days = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    since = datetime.combine(days[0], datetime.min.time(), zone)
    rows = list(UsageRecord.objects.filter(created_at__gte=since).annotate(day=TruncDate("created_at", tzinfo=zone))
                .values("day", "model").annotate(tokens=Coalesce(Sum("total_tokens"), 0), requests=Count("id"))
                .order_by())
    month = UsageRecord.objects.filter(created_at__gte=datetime.now(UTC) - timedelta(days=30)).order_by()
    return {
        "tokens_chart": chart(rows, days, "tokens"),
        "requests_chart": chart(rows, days, "requests"),
        "top_users": _top(month, "user_id", User, lambda u: u.email, "user"),
        "top_keys": _top(month, "api_key_id", ApiKey, lambda k: f"{k.name} ({k.display})", "key"),
    }


def _top(qs, field: str, model, label, scope: str) -> list[dict]:
    rows = list(qs.exclude(**{field: None}).values(field).annotate(
        tokens=Coalesce(Sum("total_tokens"), 0), requests=Count("id"), cost=Sum("cost")).order_by("-tokens")[:10])
    ids = [r[field] for r in rows]
    names = {o.pk: label(o) for o in model.objects.filter(pk__in=ids)}
    budgets = {row.scope_id: row for row in UsageLimit.objects.filter(scope_type=scope, scope_id__in=[str(i) for i in ids])}
    found = []
    for r in rows:
        row = budgets.get(str(r[field]))
        limit = f"{row.token_budget} tokens / {row.budget_period}" if row and row.token_budget else (
            f"${row.cost_budget} / {row.budget_period}" if row and row.cost_budget else "none")
        found.append({"id": r[field], "name": names.get(r[field], str(r[field])), "tokens": r["tokens"],
                      "requests": r["requests"], "cost": r["cost"], "limit": limit})
    return found


def chart(rows: list[dict], days: list, metric: str) -> SafeString:
    """Stacked bars, one a day, one colour a model (the TOP biggest; the rest as "other")."""
    per_model: dict[str, int] = {}
    for row in rows:
        per_model[row["model"]] = per_model.get(row["model"], 0) + row[metric]
    models = sorted(per_model, key=lambda m: -per_model[m])[:TOP]
    stacks: dict = {d: {} for d in days}
    for row in rows:
        name = row["model"] if row["model"] in models else "other"
        if row["day"] in stacks:
            stacks[row["day"]][name] = stacks[row["day"]].get(name, 0) + row[metric]
    peak = max((sum(s.values()) for s in stacks.values()), default=0) or 1
    colors = {**{m: COLORS[i] for i, m in enumerate(models)}, "other": OTHER_COLOR}
    slot = (WIDTH - PAD) / len(days)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="usage-chart" data-metric="{metric}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT + 40}" width="100%"><title>{metric} per day per model</title>',
             f'<text x="0" y="12" font-size="11" fill="currentColor">{peak}</text>',
             f'<line x1="{PAD}" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" stroke="#9ca3af"/>']
    for i, day in enumerate(days):
        x, y = PAD + i * slot + 2, float(HEIGHT)
        for name in [*models, "other"]:
            value = stacks[day].get(name, 0)
            if value:
                h = value / peak * (HEIGHT - 16)
                y -= h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot - 4:.1f}" height="{h:.1f}" fill="{colors[name]}">'
                             f'<title>{escape(name)} · {day.isoformat()}: {value}</title></rect>')
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT + 14}" font-size="10" fill="currentColor">{day.strftime("%m-%d")}</text>')
    for i, name in enumerate([*models, "other"] if len(per_model) > TOP else models):
        x = PAD + (i % 4) * 170
        y = HEIGHT + 26 + (i // 4) * 12
        parts.append(f'<rect x="{x}" y="{y - 8}" width="8" height="8" fill="{colors[name]}"/>'
                     f'<text x="{x + 12}" y="{y}" font-size="10" fill="currentColor">{escape(name[:28])}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text in it is escaped above)
