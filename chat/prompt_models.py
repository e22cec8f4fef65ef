"""Prompts (slash commands) and their version history (Open WebUI 0.12.4's `prompt` and
`prompt_history` tables). Shared through accounts.AccessGrant rows of kind "prompt"."""

import uuid

from django.conf import settings
from django.db import models


class Prompt(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    command = models.CharField(max_length=255, unique=True, help_text="The slash command; unique on the server.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="prompts")
    name = models.CharField(max_length=255)
    content = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    version = models.ForeignKey("PromptHistory", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                help_text="The production version (the history entry the content came from).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["user", "-updated_at"], name="prompt_user_updated")]

    def __str__(self) -> str:
        return f"{self.command} ({self.name})"


class PromptHistory(models.Model):
    """One saved version: a snapshot of the prompt's fields, its parent (the version before it)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="history")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    snapshot = models.JSONField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    commit_message = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "prompt version"
        verbose_name_plural = "prompt versions"
        indexes = [models.Index(fields=["prompt", "-created_at"], name="prompt_history_latest")]

    def __str__(self) -> str:
        return self.commit_message or str(self.id)
