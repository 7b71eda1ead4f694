"""Reads that several callers share: the reports (views, CSV export)."""

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils.translation import gettext, gettext_noop

from policies.models import PrivacyAlert, Site
from sessions_app.models import AuditEntry, CobrowseSession

Kind = AuditEntry.Kind

# Histogram buckets: (upper bound in seconds, label); the last one has no upper bound. The labels
# with words are translated when shown.
WAIT_BUCKETS = [
    (10, gettext_noop("under 10 s")),
    (30, "10–30 s"),
    (60, "30–60 s"),
    (120, "1–2 min"),
    (300, "2–5 min"),
    (None, gettext_noop("5 min or more")),
]
DURATION_BUCKETS = [
    (60, gettext_noop("under 1 min")),
    (300, "1–5 min"),
    (900, "5–15 min"),
    (1800, "15–30 min"),
    (3600, "30–60 min"),
    (None, gettext_noop("1 h or more")),
]


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile (0.5: the median as the lower middle value); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def bucket_counts(values: list[float], buckets: list[tuple[int | None, str]]) -> list[int]:
    counts = [0] * len(buckets)
    for value in values:
        for i, (upper, _) in enumerate(buckets):
            if upper is None or value < upper:
                counts[i] += 1
                break
    return counts


@dataclass(frozen=True)
class ReportPeriod:
    """Days from `start` to `end`, both included, in UTC; optionally one site, one agent."""

    start: date
    end: date
    site_id: int | None = None
    agent_id: int | None = None

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


@dataclass
class Stats:
    """The numbers of one row of a report: a day, a site, an agent or the whole period."""

    sessions: int = 0
    joined: int = 0
    waits: list[float] = field(default_factory=list)  # seconds from start to join
    durations: list[float] = field(default_factory=list)  # seconds from join to end
    write_requests: int = 0
    approvals: int = 0
    denials: int = 0
    privacy_alerts: int = 0

    @property
    def never_joined(self) -> int:
        return self.sessions - self.joined

    @property
    def median_wait(self) -> float | None:
        return percentile(self.waits, 0.5)

    @property
    def p90_wait(self) -> float | None:
        return percentile(self.waits, 0.9)

    @property
    def median_duration(self) -> float | None:
        return percentile(self.durations, 0.5)

    @property
    def p90_duration(self) -> float | None:
        return percentile(self.durations, 0.9)


@dataclass
class Report:
    period: ReportPeriod
    total: Stats = field(default_factory=Stats)
    days: dict[date, Stats] = field(default_factory=dict)
    sites: dict[int, Stats] = field(default_factory=dict)
    agents: dict[int | None, Stats] = field(default_factory=dict)
    site_names: dict[int, str] = field(default_factory=dict)
    agent_names: dict[int, str] = field(default_factory=dict)

    @property
    def wait_buckets(self) -> list[tuple[str, int]]:
        labels = [gettext(label) for _, label in WAIT_BUCKETS]
        return list(zip(labels, bucket_counts(self.total.waits, WAIT_BUCKETS), strict=True))

    @property
    def duration_buckets(self) -> list[tuple[str, int]]:
        labels = [gettext(label) for _, label in DURATION_BUCKETS]
        return list(zip(labels, bucket_counts(self.total.durations, DURATION_BUCKETS), strict=True))

    def site_name(self, site_id: int) -> str:
        return self.site_names.get(site_id, f"site #{site_id}")

    def agent_name(self, agent_id: int | None) -> str:
        if agent_id is None:
            return "no agent joined"
        return self.agent_names.get(agent_id, f"user #{agent_id}")

    def _each(self, day: date, site_id: int, agent_id: int | None) -> Iterator[Stats]:
        yield self.total
        yield self.days.setdefault(day, Stats())
        yield self.sites.setdefault(site_id, Stats())
        yield self.agents.setdefault(agent_id, Stats())


def _sessions_in(period: ReportPeriod):
    """Sessions started in the period: served by the index on (created), or on (site, created)
    or (agent, created) when the report is for one site or one agent."""
    sessions = CobrowseSession.objects.filter(created__gte=period.since, created__lt=period.until)
    if period.site_id is not None:
        sessions = sessions.filter(site_id=period.site_id)
    if period.agent_id is not None:
        sessions = sessions.filter(agent_id=period.agent_id)
    return sessions


def report_for_period(period: ReportPeriod) -> Report:
    """Sessions started in the period (count, start to join, join to end), and the write mode
    requests, answers and privacy alerts that happened in it, by day, site and agent."""
    report = Report(period=period, days={day: Stats() for day in period.days})
    rows = _sessions_in(period).values_list(
        "site_id", "agent_id", "created", "joined_at", "ended_at"
    )
    for site_id, agent_id, created, joined_at, ended_at in rows.iterator():
        for stats in report._each(created.date(), site_id, agent_id):
            stats.sessions += 1
            if joined_at:
                stats.joined += 1
                stats.waits.append((joined_at - created).total_seconds())
                if ended_at:
                    stats.durations.append((ended_at - joined_at).total_seconds())
    # Served by the index on (kind, created); the session's site and agent through its key.
    entries = AuditEntry.objects.filter(
        Q(kind__in=[Kind.WRITE_REQUESTED, Kind.WRITE_DENIED])
        | Q(kind=Kind.MODE, detail__mode="write"),
        created__gte=period.since,
        created__lt=period.until,
    )
    if period.site_id is not None:
        entries = entries.filter(session__site_id=period.site_id)
    if period.agent_id is not None:
        entries = entries.filter(session__agent_id=period.agent_id)
    counted: dict[str, str] = {
        Kind.WRITE_REQUESTED: "write_requests",
        Kind.MODE: "approvals",
        Kind.WRITE_DENIED: "denials",
    }
    events = entries.values_list("kind", "created", "session__site_id", "session__agent_id")
    for kind, created, site_id, agent_id in events.iterator():
        for stats in report._each(created.date(), site_id, agent_id):
            setattr(stats, counted[kind], getattr(stats, counted[kind]) + 1)
    # Served by the index on (created), or on (site, created) for one site.
    alerts = PrivacyAlert.objects.filter(created__gte=period.since, created__lt=period.until)
    if period.site_id is not None:
        alerts = alerts.filter(site_id=period.site_id)
    if period.agent_id is not None:
        alerts = alerts.filter(session__agent_id=period.agent_id)
    per_day = (
        alerts.annotate(day=TruncDate("created"))
        .values_list("day", "site_id", "session__agent_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for day, site_id, agent_id, n in per_day:
        for stats in report._each(day, site_id, agent_id):
            stats.privacy_alerts += n
    report.site_names = dict(Site.objects.filter(pk__in=report.sites).values_list("pk", "name"))
    User = get_user_model()
    report.agent_names = dict(
        User.objects.filter(pk__in=[pk for pk in report.agents if pk is not None]).values_list(
            "pk", User.USERNAME_FIELD
        )
    )
    return report


@dataclass
class SessionRow:
    code: str
    site: str
    agent: str
    created: datetime
    joined_at: datetime | None
    ended_at: datetime | None
    end_reason: str
    wait_seconds: float | None
    duration_seconds: float | None
    write_requests: int
    approvals: int
    denials: int
    privacy_alerts: int


def _count_of(rows: QuerySet) -> Coalesce:
    """How many of these rows belong to the outer session (a correlated subquery, one per
    column, rather than joins that multiply each other)."""
    per_session = (
        rows.filter(session=OuterRef("pk"))
        .order_by()
        .values("session")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(per_session, output_field=IntegerField()), Value(0))


def report_sessions(period: ReportPeriod) -> Iterator[SessionRow]:
    """One row per session started in the period, oldest first, with its own counts."""
    sessions = (
        _sessions_in(period)
        .select_related("site", "agent")
        .annotate(
            write_requests=_count_of(AuditEntry.objects.filter(kind=Kind.WRITE_REQUESTED)),
            approvals=_count_of(AuditEntry.objects.filter(kind=Kind.MODE, detail__mode="write")),
            denials=_count_of(AuditEntry.objects.filter(kind=Kind.WRITE_DENIED)),
            alerts=_count_of(PrivacyAlert.objects.all()),
        )
        .order_by("created", "pk")
    )
    for s in sessions.iterator(chunk_size=1000):
        yield SessionRow(
            code=s.code,
            site=s.site.name,
            agent=s.agent.get_username() if s.agent else "",
            created=s.created,
            joined_at=s.joined_at,
            ended_at=s.ended_at,
            end_reason=s.end_reason,
            wait_seconds=(s.joined_at - s.created).total_seconds() if s.joined_at else None,
            duration_seconds=(s.ended_at - s.joined_at).total_seconds()
            if s.joined_at and s.ended_at
            else None,
            write_requests=s.write_requests,
            approvals=s.approvals,
            denials=s.denials,
            privacy_alerts=s.alerts,
        )
