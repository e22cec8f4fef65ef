import uuid

from django.conf import settings
from django.db import models


class Webhook(models.Model):
    """An admin-registered URL that receives the events it asked for (all when `events` is empty),
    signed with its `secret` (config.events.signing)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255, blank=True)
    url = models.URLField(max_length=2000)
    enabled = models.BooleanField(default=True)
    events = models.JSONField(default=list, blank=True, help_text="Event types to send; empty: all.")
    targets = models.JSONField(default=list, blank=True, help_text="Kept as sent (Open WebUI's field).")
    secret = models.CharField(max_length=255, help_text="HMAC-SHA256 key of the signature header.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.name or self.url

    def wants(self, event_type: str) -> bool:
        return self.enabled and (not self.events or event_type in self.events)


class Event(models.Model):
    """One event, in the order it happened (`id`). `user` owns its subject (a file's owner); none
    for the system's own objects (connections), which admins see."""

    id = models.BigAutoField(primary_key=True)
    type = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    subject_id = models.CharField(max_length=255)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.subject_id}"
