"""Prometheus metrics of one daphne worker, served at GET /metrics (cobrowse.health.OpsMiddleware).

Each worker keeps its own registry (prometheus-client's default one, in process memory): the frame
counters, histograms and socket gauges describe that process, so Prometheus scrapes every worker
(docs/operations.md). prometheus-client's multiprocess mode is not used. Sessions by status and the
webhook backlog are read from the database at scrape time, so every worker reports the same
numbers for those.

The socket path only counts and observes (a lock and an addition, no I/O), with children bound
once per label set; times are taken with time.perf_counter.
"""

import hmac
import importlib
import ipaddress
import logging
import os
from collections.abc import Iterable

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.db.models import Count
from django.http import HttpRequest
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from sessions_app.limits import client_address

log = logging.getLogger("cobrowse.metrics")

if os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir"):
    # prometheus-client would switch to its file-backed values, which this module does not collect.
    raise ImproperlyConfigured(
        "PROMETHEUS_MULTIPROC_DIR is set, but each cobrowse worker serves its own /metrics: "
        "unset it and scrape every worker (docs/operations.md)"
    )

# No `_created` series beside every counter and histogram: Prometheus has no use for them.
disable_created_metrics()

# Handling one browser frame takes tens of microseconds (a keystroke) to a second (a large page
# through the guard in a thread).
FRAME_BUCKETS: tuple[float, ...] = (
    *(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05),
    *(0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
# The guard: a set lookup for a keystroke, tens of milliseconds for a snapshot of 10,000 elements.
GUARD_BUCKETS: tuple[float, ...] = (0.00001, 0.000025, 0.00005, *FRAME_BUCKETS)

FRAMES_RELAYED = Counter(
    "cobrowse_frames_relayed",
    "Frames relayed from one side of a session to the other, by direction (to_agent: the "
    "customer's page; to_customer: the agent's pointer and commands) and kind.",
    ["direction", "kind"],
)
FRAME_SECONDS = Histogram(
    "cobrowse_frame_seconds",
    "Time to handle one frame a co-browse socket received, by the socket's role.",
    ["role"],
    buckets=FRAME_BUCKETS,
)
GUARD_SECONDS = Histogram(
    "cobrowse_guard_seconds",
    "Time the server's privacy guard took over one frame of the customer's page, by kind.",
    ["kind"],
    buckets=GUARD_BUCKETS,
)
FRAMES_REFUSED = Counter(
    "cobrowse_frames_refused",
    "Frames a socket refused or dropped (most with an error frame to the sender), by the "
    "socket's role and the error code.",
    ["role", "reason"],
)
SOCKETS = Gauge(
    "cobrowse_sockets",
    "WebSockets connected to this worker, by role (customer, agent, chat, inbox).",
    ["role"],
)
SOCKETS_REFUSED = Counter(
    "cobrowse_sockets_refused",
    "WebSocket connections refused (bad token, unknown session ID, ...), by role and code.",
    ["role", "reason"],
)
LAYER_FRAMES = Counter(
    "cobrowse_frames_through_layer",
    "Customer page events (frames, refusal lists) this worker sent through the channel "
    "layer to agent sockets on other workers (or while it did not know yet where they were). "
    "With a session's sockets on one worker it stays near 0.",
)
PRIVACY_ALERTS = Counter(
    "cobrowse_privacy_alerts",
    "Things the server's privacy guard scrubbed that the customer's browser should have masked.",
)

# Children for the hot path, bound once.
TO_AGENT = {
    True: FRAMES_RELAYED.labels("to_agent", "snapshot"),
    False: FRAMES_RELAYED.labels("to_agent", "changes"),
}
GUARD = {True: GUARD_SECONDS.labels("snapshot"), False: GUARD_SECONDS.labels("changes")}
ROLES = ("customer", "agent", "chat", "inbox")
for _role in ROLES:  # every role's series exists from the start, at 0
    SOCKETS.labels(_role)
for _role in ("customer", "agent"):
    FRAME_SECONDS.labels(_role)


def relayed_to_customer(kind: str) -> None:
    FRAMES_RELAYED.labels("to_customer", kind).inc()


def refused(role: str, reason: str) -> None:
    FRAMES_REFUSED.labels(role, reason).inc()


class SessionsCollector:
    """Live sessions by status, read with one grouped query (served by the index on status,
    created) whenever Prometheus scrapes."""

    def describe(self) -> Iterable[Metric]:
        # Without this the registry would run collect(), a query, when the module is imported.
        return [self._family()]

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "cobrowse_sessions",
            "Live co-browse sessions by status, from the database (the same on every worker).",
            labels=["status"],
        )

    def collect(self) -> Iterable[Metric]:
        from sessions_app.models import CobrowseSession

        live = [str(status) for status in CobrowseSession.LIVE_STATUSES]
        counts = dict.fromkeys(live, 0)
        try:
            rows = (
                CobrowseSession.objects.filter(status__in=live)
                .values_list("status")
                .annotate(n=Count("pk"))
                .order_by()
            )
            counts.update(dict(rows))
        except DatabaseError as error:
            _unavailable("live sessions", error)
            return []
        _available("live sessions")
        family = self._family()
        for status, n in counts.items():
            family.add_metric([status], n)
        return [family]


class WebhookBacklogCollector:
    """Deliveries waiting to be sent, from the webhooks app when it is installed."""

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "cobrowse_webhook_backlog",
            "Webhook deliveries waiting to be sent (pending, to an active endpoint), from the "
            "database (the same on every worker).",
        )

    def collect(self) -> Iterable[Metric]:
        backlog = webhook_backlog()
        if backlog is None:
            return []
        family = self._family()
        family.add_metric([], backlog)
        return [family]


def webhook_backlog() -> int | None:
    """webhooks.selectors.backlog(), or None without the webhooks app (or its database)."""
    if not apps.is_installed("webhooks"):
        return None
    try:
        selectors = importlib.import_module("webhooks.selectors")
    except ImportError:
        return None
    try:
        backlog = int(selectors.backlog())
    except DatabaseError as error:
        _unavailable("webhook backlog", error)
        return None
    _available("webhook backlog")
    return backlog


_missing: set[str] = set()  # what the last scrape could not count (the database was down)


def _unavailable(what: str, error: Exception) -> None:
    # Once while it lasts, not once a scrape; /healthz names the database too.
    if what not in _missing:
        _missing.add(what)
        log.warning(
            "metrics: %s not counted (%s); left out of /metrics", what, type(error).__name__
        )


def _available(what: str) -> None:
    if what in _missing:
        _missing.discard(what)
        log.info("metrics: %s counted again", what)


REGISTRY.register(SessionsCollector())
REGISTRY.register(WebhookBacklogCollector())


# Access


def _address(request: HttpRequest) -> str | None:
    """The client's address for the allow-list, or None when a proxy hides it.

    A request that came through a proxy (it has X-Forwarded-For) is judged by the address our
    own proxies wrote, never by the proxy's: through nginx on the same host every request
    would come from 127.0.0.1. Without COBROWSE_TRUSTED_PROXIES, or with fewer entries than
    proxies, that address is unknown.
    """
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if forwarded is None:
        return request.META.get("REMOTE_ADDR") or None
    entries = [entry for entry in forwarded.split(",") if entry.strip()]
    trusted = settings.COBROWSE_TRUSTED_PROXIES
    if trusted <= 0 or len(entries) < trusted:
        return None
    return client_address(request)


def _listed(address: str | None) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:  # ::ffff:127.0.0.1
        ip = ip.ipv4_mapped
    return any(
        ip in ipaddress.ip_network(network, strict=False)
        for network in settings.COBROWSE_METRICS_ALLOW
    )


def _bearer(request: HttpRequest) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def may_scrape(request: HttpRequest) -> bool:
    """With the bearer token (COBROWSE_METRICS_TOKEN), or from COBROWSE_METRICS_ALLOW."""
    token = settings.COBROWSE_METRICS_TOKEN
    given = _bearer(request)
    if token and given and hmac.compare_digest(given.encode(), token.encode()):
        return True
    return _listed(_address(request))


def render(accept: str | None) -> tuple[bytes, str]:
    """The exposition in the format Prometheus asked for (text format 0.0.4 by default), and
    its content type. Runs the collectors: call it off the event loop."""
    encode, content_type = choose_encoder(accept or "")
    return encode(REGISTRY), content_type
