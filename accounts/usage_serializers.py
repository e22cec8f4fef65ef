"""Query parameters and bodies of the usage, analytics, limits and prices routes, and the shapes of
limits and prices (the usage and analytics outputs are plain dicts)."""

from rest_framework import serializers


class UsageQueryIn(serializers.Serializer):
    user_id = serializers.UUIDField(required=False)
    api_key_id = serializers.UUIDField(required=False)
    model = serializers.CharField(required=False, default="", max_length=256)
    start_date = serializers.IntegerField(required=False, min_value=0, max_value=2**40)
    end_date = serializers.IntegerField(required=False, min_value=0, max_value=2**40)
    group_by = serializers.CharField(required=False, default="day,model")
    export = serializers.ChoiceField(choices=["json", "csv"], required=False, default="json")

    def validate_group_by(self, value: str) -> list[str]:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        unknown = [p for p in parts if p not in ("day", "model", "user", "key")]
        if unknown or not parts:
            raise serializers.ValidationError("group_by takes day, model, user and key, separated by commas.")
        return parts


class AnalyticsQueryIn(serializers.Serializer):
    start_date = serializers.IntegerField(required=False, min_value=0, max_value=2**40)
    end_date = serializers.IntegerField(required=False, min_value=0, max_value=2**40)
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=1000)
    metric = serializers.ChoiceField(choices=["messages", "tokens"], required=False, default="messages")
    granularity = serializers.ChoiceField(choices=["daily"], required=False, default="daily")


LIMIT_FIELDS = ("requests_per_minute", "tokens_per_minute", "max_concurrent", "token_budget", "cost_budget")


class LimitQueryIn(serializers.Serializer):
    scope_type = serializers.ChoiceField(choices=["key", "user", "group", "model", "role"], required=False)
    scope_id = serializers.CharField(required=False, max_length=256)


class LimitIn(serializers.Serializer):
    """A limit row; empty (null) fields: no limit of that kind. On update every field is optional."""

    scope_type = serializers.ChoiceField(choices=["key", "user", "group", "model", "role"])
    scope_id = serializers.CharField(max_length=256)
    requests_per_minute = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**31 - 1)
    tokens_per_minute = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**31 - 1)
    max_concurrent = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**31 - 1)
    token_budget = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**63 - 1)
    cost_budget = serializers.DecimalField(required=False, allow_null=True, max_digits=14, decimal_places=4, min_value=0)
    budget_period = serializers.ChoiceField(choices=["day", "week", "month"], required=False)

    def validate(self, attrs):
        if not self.partial and all(attrs.get(name) is None for name in LIMIT_FIELDS):
            raise serializers.ValidationError(f"A limit needs at least one of {', '.join(LIMIT_FIELDS)}.")
        return attrs


class PriceIn(serializers.Serializer):
    model = serializers.CharField(max_length=256)
    input_per_million = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=0, required=False, default=0)
    output_per_million = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=0, required=False, default=0)
    default_max_tokens = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                                  max_value=2**31 - 1)


def _ts(value) -> int | None:
    return int(value.timestamp()) if value else None


def limit_out(row) -> dict:
    return {"id": str(row.id), "scope_type": row.scope_type, "scope_id": row.scope_id,
            "requests_per_minute": row.requests_per_minute, "tokens_per_minute": row.tokens_per_minute,
            "max_concurrent": row.max_concurrent, "token_budget": row.token_budget,
            "cost_budget": float(row.cost_budget) if row.cost_budget is not None else None,
            "budget_period": row.budget_period, "created_at": _ts(row.created_at), "updated_at": _ts(row.updated_at)}


def price_out(row) -> dict:
    return {"model": row.model, "input_per_million": float(row.input_per_million),
            "output_per_million": float(row.output_per_million), "default_max_tokens": row.default_max_tokens,
            "updated_at": _ts(row.updated_at)}
