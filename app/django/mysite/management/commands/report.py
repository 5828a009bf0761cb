"""python manage.py report: the scheduled job of the sample app. It checks the
database answers and prints one JSON line (to the task's log stream); a
non-zero exit is a failed run, which the stack's job-failure queue and alarm
record."""
import json
import os
import socket

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone


class Command(BaseCommand):
    help = "Print the app's report line."

    def add_arguments(self, parser):
        parser.add_argument("--hourly", action="store_true", help="the hourly variant")

    def handle(self, *args, hourly=False, **kwargs):
        try:
            with connection.cursor() as c:
                c.execute("SELECT 1")
                ok = c.fetchone()[0] == 1
        except Exception as e:  # noqa: BLE001
            raise CommandError(f"report: the database does not answer: {e}")
        self.stdout.write(json.dumps({
            "report": "hourly" if hourly else "daily", "at": timezone.now().isoformat(), "database": ok,
            "host": socket.gethostname(), "version": os.environ.get("APP_VERSION", "dev"),
        }, sort_keys=True))
