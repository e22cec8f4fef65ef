import uuid

from django.conf import settings
from django.db import models

from files.models import File


class KnowledgeBase(models.Model):
    """A collection of files. Its chunks are its files' chunks: a file is embedded once (DECISIONS #8)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="knowledge_bases")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    meta = models.JSONField(null=True, blank=True)
    files = models.ManyToManyField(File, through="KnowledgeFile", related_name="knowledge_bases")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = "knowledge collection"

    def __str__(self) -> str:
        return self.name


class KnowledgeDirectory(models.Model):
    """A folder inside a collection, for organising its files (no effect on search)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    knowledge = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="directories")
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children")
    name = models.CharField(max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["knowledge", "parent", "name"], nulls_distinct=False,
                                               name="knowledge_directory_name_unique")]

    def __str__(self) -> str:
        return self.name


class KnowledgeFile(models.Model):
    knowledge = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="memberships")
    file = models.ForeignKey(File, on_delete=models.CASCADE, related_name="memberships")
    directory = models.ForeignKey(KnowledgeDirectory, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["knowledge", "file"], name="knowledge_file_unique")]

    def __str__(self) -> str:
        return self.file.filename
