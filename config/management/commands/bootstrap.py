from django.core.management.base import BaseCommand

from accounts.services import bootstrap_admin


class Command(BaseCommand):
    help = "Create the first admin from WEBUI_ADMIN_EMAIL/WEBUI_ADMIN_PASSWORD (when no user exists)."

    def handle(self, *args, **options):
        user = bootstrap_admin()
        if user:
            self.stdout.write(f"Created admin {user.email}")
