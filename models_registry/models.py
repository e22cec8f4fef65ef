import uuid

from django.conf import settings
from django.db import models

from config.common.values import mask_secret


class Connection(models.Model):
    """An upstream LLM server: Ollama (native API) or any OpenAI-compatible API."""

    class Kind(models.TextChoices):
        OLLAMA = "ollama", "Ollama"
        OPENAI = "openai", "OpenAI-compatible"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=100, blank=True)
    base_url = models.URLField(max_length=500, help_text="Ollama: http://host:11434 · OpenAI: https://host/v1")
    api_key = models.CharField(max_length=500, blank=True, help_text="Sent as a bearer token; never shown back in full.")
    enabled = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0, help_text="Order among connections of the same kind (url_idx).")
    prefix_id = models.CharField(max_length=64, blank=True, help_text="Model ids become '<prefix>.<id>'.")
    model_ids = models.JSONField(default=list, blank=True, help_text="Allow-list of model ids; empty: all.")
    tags = models.JSONField(default=list, blank=True)
    connection_type = models.CharField(max_length=16, blank=True, help_text="local/external; default by kind.")
    timeout = models.FloatField(null=True, blank=True, help_text="Seconds to wait for generation (between chunks when streaming); empty: 300.")
    list_timeout = models.FloatField(default=3.0, help_text="Seconds to wait for the model list.")
    last_error = models.TextField(blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    models_found = models.JSONField(default=list, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "position", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(kind__in=["ollama", "openai"]), name="connection_kind_valid")]

    def __str__(self) -> str:
        return self.name or f"{self.get_kind_display()} {self.base_url}"

    @property
    def effective_connection_type(self) -> str:
        from models_registry.providers import provider_for  # (providers use this model)

        return self.connection_type or provider_for(self).connection_type

    @property
    def masked_key(self) -> str:
        return mask_secret(self.api_key)


class Model(models.Model):
    """A model as users see it: an override of a provider model (no base) or a preset over a base
    model with its own name, system prompt, params and attached knowledge (API.md §8)."""

    id = models.CharField(max_length=256, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="models")
    base_model_id = models.CharField(max_length=256, null=True, blank=True)
    name = models.CharField(max_length=256)
    params = models.JSONField(default=dict, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    version_id = models.UUIDField(default=uuid.uuid4)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.name or self.id

    @property
    def is_preset(self) -> bool:
        return bool(self.base_model_id)


class ModelVersion(models.Model):
    """An immutable snapshot of a model row's configuration (name, base, params, meta), written by each
    create or update that changes it; the row's `version_id` names the one in force (Open WebUI's model history)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="versions")
    parent_id = models.UUIDField(null=True, blank=True, help_text="The version this one replaced")
    snapshot = models.JSONField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    commit_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["model", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.model_id} @ {self.created_at:%Y-%m-%d %H:%M}"
