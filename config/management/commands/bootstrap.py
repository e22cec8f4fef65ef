from django.core.management.base import BaseCommand

from accounts.services import bootstrap_admin
from models_registry.connections import seed_from_env


class Command(BaseCommand):
    help = "Create the first admin (WEBUI_ADMIN_EMAIL/PASSWORD) and the upstream connections from the environment."

    def handle(self, *args, **options):
        user = bootstrap_admin()
        if user:
            self.stdout.write(f"Created admin {user.email}")
        if seeded := seed_from_env():
            self.stdout.write(f"Created {seeded} upstream connection(s) from the environment")
