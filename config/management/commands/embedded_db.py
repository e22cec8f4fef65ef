from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config import embedded_db


class Command(BaseCommand):
    help = ("Show or stop the embedded PostgreSQL (used when DATABASE_URL is unset). It keeps running after "
            "`serve` exits, so the next start is instant; `stop` ends it.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "stop"])

    def handle(self, *args, action, **options):
        if not settings.EMBEDDED_DATABASE:
            raise CommandError("DATABASE_URL is set: there is no embedded database to manage.")
        data_dir = settings.DATA_DIR
        if action == "stop":
            stopped = embedded_db.stop(data_dir)
            self.stdout.write("Stopped the embedded database." if stopped else "The embedded database was not running.")
            return
        state = embedded_db.status(data_dir)
        if state is None:
            self.stdout.write(f"Not running (data in {embedded_db.pgdata(data_dir)}).")
        else:
            self.stdout.write(f"Running: pid {state['pid']}, socket {state['socket']}\n"
                              f"Data: {embedded_db.pgdata(data_dir)}\nLog: {embedded_db.log_path(data_dir)}")
