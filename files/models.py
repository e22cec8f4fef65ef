import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from pgvector.django import VectorField


class File(models.Model):
    """An uploaded file: bytes in storage, extracted text and processing state here (API.md §4.1)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        COMPLETED = "completed"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=255)
    storage_name = models.CharField(max_length=500, help_text="Name in the storage, relative to its root.")
    content_type = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField(default=0)
    file_hash = models.CharField(max_length=64, help_text="SHA-256 of the uploaded bytes")
    hash = models.CharField(max_length=64, null=True, blank=True, help_text="SHA-256 of the extracted text")
    meta = models.JSONField(default=dict, blank=True, help_text="The client's metadata form field")
    status = models.CharField(max_length=16, blank=True, help_text="Empty when uploaded with process=false")
    error = models.TextField(blank=True)
    content = models.TextField(blank=True)
    # How far processing is (chunks embedded and written of the file's total), written by the job
    # from a side connection while its own transaction is open; the ETA is derived from these.
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["user", "-updated_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["", "pending", "processing", "completed", "failed"]), name="file_status_valid"
            )
        ]

    def __str__(self) -> str:
        return self.filename


class Chunk(models.Model):
    """A piece of a file's text, with its embedding (when an engine is set) and a full-text vector."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.ForeignKey(File, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    text = models.TextField()
    metadata = models.JSONField(default=dict)
    embedding = VectorField(null=True, blank=True)
    embedding_model = models.CharField(max_length=255, blank=True)
    dimensions = models.PositiveIntegerField(null=True, blank=True)
    search = models.GeneratedField(
        expression=SearchVector("text", config="simple"), output_field=SearchVectorField(), db_persist=True
    )

    class Meta:
        ordering = ["file", "position"]
        indexes = [GinIndex(fields=["search"], name="chunk_search_gin")]
        constraints = [models.UniqueConstraint(fields=["file", "position"], name="chunk_position_unique")]
