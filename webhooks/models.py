"""Webhook endpoints, and the outbox of deliveries the worker (`manage.py deliver_webhooks`) sends.

A delivery row is written in the same transaction as the audit entry (or the chat or call change)
it announces, so a delivery exists exactly when its event does, and a restart loses none.
"""

import secrets
import uuid
from datetime import datetime, timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from policies.models import Site
from webhooks import events

# A failing delivery is retried until this long after it was created, then marked failed.
RETRY_WINDOW = timedelta(hours=24)
# Back-off after the n-th failed attempt: 10 s, 30 s, 1.5 min, 4.5 min, ... then hourly.
FIRST_DELAY = 10
DELAY_FACTOR = 3
MAX_DELAY = 3600


def retry_delay(failed_attempts: int) -> timedelta:
    return timedelta(
        seconds=min(FIRST_DELAY * DELAY_FACTOR ** max(0, failed_attempts - 1), MAX_DELAY)
    )


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def all_events() -> list[str]:
    return list(events.NAMES)


class EndpointQuerySet(models.QuerySet["Endpoint"]):
    def taking(self, *, site_id: int | None, event: str) -> list["Endpoint"]:
        """The active endpoints that receive `event` of the site (the events list is JSON: SQLite
        cannot search it, so that part is read here)."""
        mine = self.filter(Q(site__isnull=True) | Q(site_id=site_id), active=True)
        return [endpoint for endpoint in mine if endpoint.takes(site_id, event)]


class Endpoint(models.Model):
    """A URL that receives a site's events, signed with its own secret."""

    site = models.ForeignKey(
        Site,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        help_text="Blank: the events of every site, and of voice calls (which belong to no site).",
    )
    url = models.URLField(
        "URL", max_length=2000, help_text="Receives a POST with a JSON body for each event."
    )
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=all_events, blank=True)
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    active = models.BooleanField(
        default=True, help_text="Off: nothing is queued for it, and what is queued waits."
    )
    created = models.DateTimeField(default=timezone.now)

    objects = EndpointQuerySet.as_manager()

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        return self.description or self.url

    def takes(self, site_id: int | None, event: str) -> bool:
        return (
            self.active
            and (self.site_id is None or self.site_id == site_id)
            and event in (self.events or [])
        )

    def rotate_secret(self) -> str:
        self.secret = new_secret()
        self.save(update_fields=["secret"])
        return self.secret


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    def pending(self) -> "DeliveryQuerySet":
        return self.filter(status=Delivery.Status.PENDING, endpoint__active=True)

    def free(self, now: datetime, *, lease: timedelta) -> "DeliveryQuerySet":
        """Pending, time for the next attempt, and not claimed by a live worker (a claim older
        than the lease is a worker that stopped mid-attempt)."""
        return self.filter(
            Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - lease),
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now,
        )

    def due(self, now: datetime, *, lease: timedelta) -> "DeliveryQuerySet":
        """What a worker may claim now: free, for an active endpoint."""
        return self.free(now, lease=lease).filter(endpoint__active=True)


class Delivery(models.Model):
    """One event for one endpoint: the exact body, its status, and when to try next."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    # Sent as Cobrowse-Delivery: the same on every attempt and resend, for idempotent receivers.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    # For the admin's search; no foreign key, so that deliveries never hold a session back.
    session_code = models.CharField(max_length=9, blank=True)
    body = models.TextField(help_text="The JSON sent, byte for byte what is signed.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Set while a worker is attempting it (see DeliveryQuerySet.due).
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "deliveries"
        indexes = [
            # The worker's due query and backlog(): pending rows by next attempt.
            models.Index(fields=["status", "next_attempt_at"], name="delivery_status_next"),
            # The admin list, newest first; and the worker's prune of old finished rows.
            models.Index(fields=["created"], name="delivery_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint}"

    @property
    def give_up_at(self) -> datetime:
        return self.created + RETRY_WINDOW


class Attempt(models.Model):
    """One POST of a delivery: when, how long, and what came back."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    response = models.CharField(
        max_length=500, blank=True, help_text="The start of the response body."
    )

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"Attempt {self.number}: {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
