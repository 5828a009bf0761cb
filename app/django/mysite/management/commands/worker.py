"""python manage.py worker: take jobs from the queue in WORKER_QUEUE_URL, one at a
time, until ECS stops the task (SIGTERM; ECS kills it stopTimeout later, 30 s by
default). A job is a JSON message {"task": "echo", "args": {...}}; a job that
fails is left on the queue, which gives it to the dead-letter queue after
maxReceiveCount receives. --check is the container's health check: the loop
touches a heartbeat file every round, and a worker that stops looping is
unhealthy."""
import json
import logging
import os
import signal
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from mysite.sqs import Queue, SQSError

log = logging.getLogger("worker")
HEARTBEAT = os.environ.get("WORKER_HEARTBEAT", "/tmp/worker-heartbeat")
STALE_AFTER = 60  # seconds: a long poll lasts 20


def handle(job):
    """Runs one job; raises to leave it on the queue."""
    task = job.get("task")
    if task == "echo":
        return f"echo {json.dumps(job.get('args', {}), sort_keys=True)}"
    raise ValueError(f"unknown task {task!r}")


class Command(BaseCommand):
    help = "Process jobs from the SQS queue in WORKER_QUEUE_URL."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one receive, then exit")
        parser.add_argument("--check", action="store_true", help="health check: exit 0 if the loop ran within a minute")
        parser.add_argument("--wait", type=int, default=20, help="long-poll seconds (0-20)")

    def handle(self, *args, once=False, check=False, wait=20, **kwargs):
        if check:
            try:
                age = time.time() - os.path.getmtime(HEARTBEAT)
            except OSError:
                sys.exit(1)
            sys.exit(0 if age < STALE_AFTER else 1)
        url = os.environ.get("WORKER_QUEUE_URL")
        if not url:
            raise CommandError("WORKER_QUEUE_URL is not set: the stack sets it for a worker that names a queue")
        queue = Queue(url)
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        self.stdout.write(f"worker: consuming {url}")
        while not stopping:
            with open(HEARTBEAT, "a"):
                os.utime(HEARTBEAT)
            try:
                messages = queue.receive(wait=wait)
            except SQSError as e:
                self.stderr.write(f"worker: receive failed: {e}")
                if once:
                    raise CommandError(str(e))
                time.sleep(5)
                continue
            for m in messages:
                try:
                    result = handle(json.loads(m["Body"]))
                except Exception as e:  # noqa: BLE001 - any failure leaves the job for a retry
                    self.stderr.write(f"worker: job {m['MessageId']} failed: {e}")
                    continue
                queue.delete(m["ReceiptHandle"])
                self.stdout.write(f"worker: job {m['MessageId']}: {result}")
            if once:
                break
        self.stdout.write("worker: stopped")
