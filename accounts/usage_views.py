"""Reading the usage ledger back: our /api/v1/usage (own usage; admins anyone's; by day, model,
user or key; CSV), Open WebUI's /api/usage and /api/v1/analytics/* in their shapes, from the ledger
(so API-key traffic counts too)."""

import csv
import io

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import usage_selectors as selectors
from accounts.permissions import IsAdmin
from accounts.usage_serializers import AnalyticsQueryIn, UsageQueryIn
from config import runtime
from config.common.exceptions import validated

CSV_FIELDS = ["day", "model", "user_id", "api_key_id", "requests", "prompt_tokens", "completion_tokens",
              "total_tokens", "cost", "errors"]


class UsageView(APIView):
    @extend_schema(parameters=[UsageQueryIn], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = validated(UsageQueryIn, request.query_params.dict(), status=400)
        qs = selectors.records(request.user, user_id=query.get("user_id"), api_key_id=query.get("api_key_id"),
                               model=query["model"], start=query.get("start_date"), end=query.get("end_date"))
        rows = selectors.grouped(qs, query["group_by"], runtime.get("USAGE_TIME_ZONE"))
        if query["export"] == "csv":
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=[f for f in CSV_FIELDS if not rows or f in rows[0]])
            writer.writeheader()
            writer.writerows(rows)
            response = HttpResponse(out.getvalue(), content_type="text/csv")
            response["Content-Disposition"] = 'attachment; filename="usage.csv"'
            return response
        return Response({"items": rows, "total": selectors.totals(qs)})


class CurrentUsageView(APIView):
    """Open WebUI's GET /api/usage: models in use and users active (here: in the last 5 minutes)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        models, users = selectors.recent_activity()
        return Response({"model_ids": models, "user_count": users})


class AnalyticsView(APIView):
    permission_classes = [IsAdmin]
    report = ""

    @extend_schema(parameters=[AnalyticsQueryIn], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = validated(AnalyticsQueryIn, request.query_params.dict(), status=400)
        qs = selectors.records(request.user, start=query.get("start_date"), end=query.get("end_date"))
        return Response(getattr(self, self.report)(qs, query))

    def models(self, qs, query) -> dict:
        rows = sorted(selectors.grouped(qs, ["model"], "UTC"), key=lambda r: -r["requests"])
        unique = selectors.users_per_model(qs)
        return {"models": [{"model_id": r["model"], "count": r["requests"], "unique_users": unique.get(r["model"], 0),
                            "unique_chats": 0} for r in rows]}

    def users(self, qs, query) -> dict:
        return {"users": selectors.top_users(qs, limit=query["limit"], by_tokens=query["metric"] == "tokens")}

    def tokens(self, qs, query) -> dict:
        rows = sorted(selectors.grouped(qs, ["model"], "UTC"), key=lambda r: -r["total_tokens"])
        models = [{"model_id": r["model"], "input_tokens": r["prompt_tokens"], "output_tokens": r["completion_tokens"],
                   "total_tokens": r["total_tokens"], "message_count": r["requests"]} for r in rows]
        total_in, total_out = sum(m["input_tokens"] for m in models), sum(m["output_tokens"] for m in models)
        return {"models": models, "total_input_tokens": total_in, "total_output_tokens": total_out,
                "total_tokens": total_in + total_out}

    def daily(self, qs, query) -> dict:
        metric = "total_tokens" if query["metric"] == "tokens" else "requests"
        days: dict[str, dict[str, int]] = {}
        for row in selectors.grouped(qs, ["day", "model"], runtime.get("USAGE_TIME_ZONE")):
            days.setdefault(row["day"], {})[row["model"]] = row[metric]
        return {"data": [{"date": day, "models": models} for day, models in sorted(days.items())]}

    def summary(self, qs, query) -> dict:
        found = selectors.counts(qs)
        return {"total_messages": found["messages"], "total_chats": 0, "total_models": found["models"],
                "total_users": found["users"]}
