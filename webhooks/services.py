"""Queueing webhook deliveries (in the caller's transaction) and delivering them (the worker).

Enqueueing only writes rows: nothing here that the services call from a request or a socket
waits on the network. `deliver_due` is one pass of the worker (`manage.py deliver_webhooks`).
"""

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from sessions_app.models import AuditEntry, CobrowseSession, Interaction
from webhooks import events, sending
from webhooks.models import Attempt, Delivery, Endpoint, retry_delay

log = logging.getLogger("cobrowse.webhooks")
Status = Delivery.Status

# Deliveries one pass claims, and endpoints it sends to at once.
BATCH = 20
CONCURRENCY = 8


# Queueing


def webhooks_enqueue(
    *,
    site_id: int | None,
    event: str,
    payload: dict[str, Any],
    session_code: str = "",
    endpoints: Iterable[Endpoint] | None = None,
) -> list[Delivery]:
    """Queue `payload` as `event` for every active endpoint of the site that takes it.

    Runs in the caller's transaction: the rows are committed with the change they announce, or
    not at all. `endpoints` saves the lookup when the caller has them already.
    """
    if endpoints is None:
        targets = Endpoint.objects.taking(site_id=site_id, event=event)
    else:
        targets = [endpoint for endpoint in endpoints if endpoint.takes(site_id, event)]
    if not targets:
        return []
    body = json.dumps({"id": str(uuid.uuid4()), "event": event, **payload}, separators=(",", ":"))
    return Delivery.objects.bulk_create(
        Delivery(endpoint=endpoint, event=event, body=body, session_code=session_code)
        for endpoint in targets
    )


def webhooks_enqueue_audit(*, session_id: int, entries: list[AuditEntry]) -> None:
    """Queue the events that a session's new audit entries stand for (audit_extend calls it)."""
    named = [
        (entry, name)
        for entry in entries
        for name in events.for_audit_entry(entry.kind, entry.detail)
    ]
    if not named:
        return
    endpoints = list(Endpoint.objects.filter(active=True))
    if not endpoints:
        return  # the common case without webhooks: one query
    session = CobrowseSession.objects.select_related("site", "agent").get(pk=session_id)
    for entry, name in named:
        webhooks_enqueue(
            site_id=session.site_id,
            event=name,
            payload=events.session_payload(session, entry, name),
            session_code=session.code,
            endpoints=endpoints,
        )


def webhooks_enqueue_interaction(*, interaction: Interaction, event: str) -> None:
    """Queue a chat's or call's event (the interaction services call it)."""
    endpoints = Endpoint.objects.taking(site_id=interaction.site_id, event=event)
    if endpoints:
        webhooks_enqueue(
            site_id=interaction.site_id,
            event=event,
            payload=events.interaction_payload(interaction, event),
            endpoints=endpoints,
        )


def webhooks_send_test(*, endpoint: Endpoint) -> Delivery:
    """Queue a `webhook.test` event for one endpoint, whatever events it takes."""
    payload = {
        "created": timezone.now().isoformat(),
        "site": events.site_part(endpoint.site),
        "data": {"message": "A test event from the co-browse admin."},
    }
    body = json.dumps(
        {"id": str(uuid.uuid4()), "event": events.TEST, **payload}, separators=(",", ":")
    )
    return Delivery.objects.create(endpoint=endpoint, event=events.TEST, body=body)


def deliveries_resend(*, deliveries: Iterable[Delivery], now: datetime | None = None) -> int:
    """Queue a fresh attempt now, whatever the status: same delivery id, same body.

    A resend of a failed delivery is one attempt (its 24 hours are over); a resend within them
    is retried on the usual schedule.
    """
    ids = [delivery.pk for delivery in deliveries]
    return Delivery.objects.filter(pk__in=ids).update(
        status=Status.PENDING, next_attempt_at=now or timezone.now()
    )


# Delivering


@dataclass
class Outcome:
    delivery: Delivery
    attempt: Attempt


def lease(timeout: float) -> timedelta:
    """How long a claim holds: a pass sends for at most about twice the timeout."""
    return timedelta(seconds=4 * timeout)


def deliver_due(
    *,
    now: datetime | None = None,
    timeout: float | None = None,
    batch: int = BATCH,
    concurrency: int = CONCURRENCY,
    only: Iterable[Any] | None = None,
) -> list[Outcome]:
    """One pass of the worker: claim what is due, POST it, record every attempt.

    Endpoints are sent to in parallel; one endpoint's deliveries one after the other, oldest
    first. An endpoint that fails, or has taken the whole timeout, gets nothing more this pass,
    so one that hangs holds up no other endpoint. `now` fixes the clock (tests); `only` limits
    the pass to some deliveries (the admin's test event).
    """
    timeout = float(timeout or settings.COBROWSE_WEBHOOK_TIMEOUT)

    def clock() -> datetime:
        return now or timezone.now()

    claimed = _claim(now=clock(), lease=lease(timeout), batch=batch, only=only)
    if not claimed:
        return []
    by_endpoint: dict[int, list[Delivery]] = {}
    for delivery in claimed:
        by_endpoint.setdefault(delivery.endpoint_id, []).append(delivery)
    outcomes: list[Outcome] = []
    workers = min(concurrency, len(by_endpoint))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
        futures = [
            pool.submit(_send_in_order, group, timeout=timeout, clock=clock)
            for group in by_endpoint.values()
        ]
        # Recorded here, in this thread, as each endpoint finishes: the senders touch no database.
        for future in as_completed(futures):
            sent, unsent = future.result()
            for delivery, started, result in sent:
                outcomes.append(_record(delivery, started=started, result=result, now=clock()))
            if unsent:
                Delivery.objects.filter(pk__in=[d.pk for d in unsent]).update(claimed_at=None)
    return outcomes


def _atomic_claim():
    # PostgreSQL: row locks, skipped by other workers. SQLite has none and would turn a read
    # transaction into a deadlock with the app's writers; its claim is the conditional update.
    return transaction.atomic() if connection.features.has_select_for_update else nullcontext()


def _claim(*, now: datetime, lease: timedelta, batch: int, only) -> list[Delivery]:
    with _atomic_claim():
        due = Delivery.objects.due(now, lease=lease)
        if only is not None:
            due = due.filter(pk__in=list(only))
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        rows = list(due.select_related("endpoint").order_by("next_attempt_at", "created")[:batch])
        mine = []
        for delivery in rows:
            # The claim itself: it fails if another worker claimed the row since it was read.
            if (
                Delivery.objects.filter(pk=delivery.pk)
                .free(now, lease=lease)
                .update(claimed_at=now)
            ):
                if delivery.claimed_at is not None:
                    _record_interrupted(delivery, claimed_at=delivery.claimed_at)
                delivery.claimed_at = now
                mine.append(delivery)
    return mine


def _record_interrupted(delivery: Delivery, *, claimed_at: datetime) -> None:
    """A claim that ran out: the worker stopped between sending and recording the answer. The
    receiver may have it already; the delivery id lets it notice the repeat."""
    delivery.attempts += 1
    Attempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        started=claimed_at,
        error="no answer recorded: the worker stopped during this attempt",
    )
    Delivery.objects.filter(pk=delivery.pk).update(attempts=delivery.attempts)
    log.warning("delivery %s: its last attempt was interrupted; sending again", delivery.pk)


def _send_in_order(
    group: list[Delivery], *, timeout: float, clock: Callable[[], datetime]
) -> tuple[list[tuple[Delivery, datetime, sending.Result]], list[Delivery]]:
    deadline = time.monotonic() + timeout
    sent: list[tuple[Delivery, datetime, sending.Result]] = []
    for index, delivery in enumerate(group):
        if index and time.monotonic() > deadline:
            return sent, group[index:]
        body = delivery.body.encode()
        started = clock()
        result = sending.post(
            delivery.endpoint.url,
            body,
            sending.headers(
                secret=delivery.endpoint.secret,
                body=body,
                event=delivery.event,
                delivery=str(delivery.pk),
                attempt=delivery.attempts + 1,
            ),
            timeout=timeout,
        )
        sent.append((delivery, started, result))
        if not result.ok:
            return sent, group[index + 1 :]
    return sent, []


def _record(
    delivery: Delivery, *, started: datetime, result: sending.Result, now: datetime
) -> Outcome:
    with transaction.atomic():
        delivery.attempts += 1
        attempt = Attempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            started=started,
            duration_ms=result.duration_ms,
            status_code=result.status_code,
            error=result.error[:300],
            response=result.response[:500],
        )
        delivery.claimed_at = None
        if result.ok:
            delivery.status = Status.DELIVERED
            delivery.delivered_at = now
        else:
            delivery.next_attempt_at = now + retry_delay(delivery.attempts)
            if delivery.next_attempt_at > delivery.give_up_at:
                delivery.status = Status.FAILED
        delivery.save(
            update_fields=["attempts", "claimed_at", "status", "delivered_at", "next_attempt_at"]
        )
    log.info(
        "delivery %s %s to %s: attempt %s %s in %s ms%s",
        delivery.pk,
        delivery.event,
        _shown(delivery.endpoint.url),
        attempt.number,
        result.status_code or result.error,
        result.duration_ms,
        "" if delivery.status == Status.PENDING or result.ok else "; gave up",
    )
    return Outcome(delivery=delivery, attempt=attempt)


def _shown(url: str) -> str:
    """An endpoint's URL for the log: without its query, which often holds a token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def deliveries_prune(*, now: datetime | None = None) -> int:
    """Delete delivered and failed deliveries (and their attempts) past COBROWSE_WEBHOOK_KEEP_DAYS."""
    days = settings.COBROWSE_WEBHOOK_KEEP_DAYS
    if not days:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    old = Delivery.objects.filter(created__lt=cutoff).exclude(status=Status.PENDING)
    _, per_model = old.delete()  # their attempts go with them
    return per_model.get(Delivery._meta.label, 0)
