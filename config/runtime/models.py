from django.db import models


class RuntimeSetting(models.Model):
    """One runtime setting saved by an admin (or by the server, e.g. ENABLE_SIGNUP after the first
    signup). Once saved, it wins over the environment variable that seeded it."""

    key = models.CharField(max_length=100, primary_key=True)
    value = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} = {self.value!r}"
