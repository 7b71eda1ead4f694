"""The webhook worker: sends due deliveries, retries failures with back-off, forever.

Run it as its own process beside daphne (one is enough; several are safe on PostgreSQL). It
stops after the pass in progress on SIGTERM or Ctrl-C. Nothing is lost when it is killed: a
delivery it was sending is claimed again once its claim runs out.
"""

import signal
import threading
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from webhooks.services import BATCH, CONCURRENCY, deliver_due, deliveries_prune

PRUNE_EVERY = 3600  # seconds between deletions of old finished deliveries


class Command(BaseCommand):
    help = "Deliver queued webhook events: loops until stopped, or one pass with --once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds to wait when nothing is due (default 1).",
        )
        parser.add_argument(
            "--batch", type=int, default=BATCH, help=f"Deliveries per pass (default {BATCH})."
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=CONCURRENCY,
            help=f"Endpoints sent to at once (default {CONCURRENCY}).",
        )

    def handle(self, *args, once: bool, interval: float, batch: int, concurrency: int, **options):
        stop = threading.Event()
        if not once:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
            self.stdout.write("Delivering webhooks (SIGTERM or Ctrl-C to stop)")
            self.stdout.flush()
        pruned_at = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() - pruned_at > PRUNE_EVERY:
                    deliveries_prune()
                    pruned_at = time.monotonic()
                outcomes = deliver_due(batch=batch, concurrency=concurrency)
            except DatabaseError as e:
                # The database is away (restart, failover): try again, do not die.
                self.stderr.write(f"database error, retrying: {e}")
                close_old_connections()
                outcomes = []
                if once:
                    raise
                stop.wait(max(interval, 1.0))
                continue
            for outcome in outcomes:
                attempt = outcome.attempt
                self.stdout.write(
                    f"{outcome.delivery.event} {outcome.delivery.pk} attempt {attempt.number}: "
                    f"{attempt.status_code or attempt.error} in {attempt.duration_ms} ms "
                    f"-> {outcome.delivery.status}"
                )
            self.stdout.flush()
            if once:
                break
            if not outcomes:
                stop.wait(interval)  # idle; with work done, look again at once
