from rest_framework import serializers


class WebhookIn(serializers.Serializer):
    """POST /api/events/webhooks (Open WebUI's EventWebhookForm, plus an optional `secret`)."""

    name = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    url = serializers.URLField(max_length=2000)
    enabled = serializers.BooleanField(default=True)
    events = serializers.ListField(child=serializers.CharField(max_length=64), required=False, allow_null=True)
    targets = serializers.ListField(child=serializers.DictField(child=serializers.CharField()), required=False,
                                    allow_null=True)
    secret = serializers.CharField(min_length=16, max_length=255, required=False, allow_null=True)


class WebhookUpdateIn(WebhookIn):
    """PUT /api/events/webhooks/{id}: only the fields sent change."""

    url = serializers.URLField(max_length=2000, required=False, allow_null=True)
    enabled = serializers.BooleanField(required=False, allow_null=True)


def webhook_out(hook, *, with_secret: bool = False) -> dict:
    """The secret is shown in full once, when created (or replaced); then only its start."""
    return {"id": str(hook.id), "name": hook.name, "url": hook.url, "enabled": hook.enabled, "events": hook.events,
            "targets": hook.targets, "secret": hook.secret if with_secret else hook.secret[:10] + "…",
            "created_at": int(hook.created_at.timestamp()), "updated_at": int(hook.updated_at.timestamp())}
