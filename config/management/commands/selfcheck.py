from django.core.management.base import BaseCommand

from config import startup


class Command(BaseCommand):
    help = "Check that the database's pgvector works on this machine (distances, HNSW at 768 dimensions, halfvec)."

    def handle(self, *args, **options):
        version = startup.check_database_or_exit()
        self.stdout.write(f"Database self-check passed: pgvector {version}")
