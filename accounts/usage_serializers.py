"""Query parameters of the usage and analytics routes (input only; the outputs are plain dicts)."""

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
