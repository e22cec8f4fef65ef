from django.conf import settings
from django.db.models import QuerySet

from files.models import File


def files_for(user) -> QuerySet[File]:
    """Files the user may read and change: their own (admins: all, with BYPASS_ADMIN_ACCESS_CONTROL)."""
    if user.is_admin and settings.BYPASS_ADMIN_ACCESS_CONTROL:
        return File.objects.all()
    return File.objects.filter(user=user)
