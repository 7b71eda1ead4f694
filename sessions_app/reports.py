"""Reports for supervisors and administrators at /reports/: charts (inline SVG drawn here, no
script), a table beside each, and the same numbers as CSV (`?format=csv&table=...`)."""

import csv
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from policies.models import Site
from sessions_app.models import AGENTS_GROUP, is_supervisor
from sessions_app.selectors import (
    Report,
    ReportPeriod,
    Stats,
    report_for_period,
    report_sessions,
)

DEFAULT_DAYS = 30
MAX_DAYS = 366
CSV_TABLES = ("days", "wait", "duration", "sites", "agents", "sessions")
# Nothing but our own stylesheet: the charts are markup, and the page runs no script at all.
REPORTS_CSP = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)


def _refuse_unless_supervisor(request: HttpRequest) -> HttpResponse | None:
    if is_supervisor(request.user):
        return None
    return render(request, "reports/not_supervisor.html", status=403)


# The period asked for


def _date(value: str, name: str, errors: list[str]) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(gettext("The %(name)s date must look like 2025-03-31.") % {"name": name})
        return None


def period_from(params) -> tuple[ReportPeriod | None, list[str]]:
    """The period and filters in the query string, or the errors that stop the report."""
    errors: list[str] = []
    today = timezone.now().date()
    end = _date(params["to"], gettext("“to”"), errors) if params.get("to") else today
    start = (
        _date(params["from"], gettext("“from”"), errors)
        if params.get("from")
        else (end or today) - timedelta(days=DEFAULT_DAYS - 1)
    )
    site_id = _choice(
        params.get("site"), Site.objects.all(), gettext("There is no such site."), errors
    )
    agent_id = _choice(
        params.get("agent"),
        get_user_model().objects.all(),
        gettext("There is no such agent."),
        errors,
    )
    if start and end:
        if start > end:
            errors.append(gettext("The “from” date is after the “to” date."))
        elif (end - start).days + 1 > MAX_DAYS:
            errors.append(gettext("Choose at most %(days)s days.") % {"days": MAX_DAYS})
    if errors or start is None or end is None:
        return None, errors
    return ReportPeriod(start=start, end=end, site_id=site_id, agent_id=agent_id), []


def _choice(value: str | None, rows, unknown: str, errors: list[str]) -> int | None:
    if not value:
        return None
    if not value.isdigit() or not rows.filter(pk=int(value)).exists():
        errors.append(unknown)
        return None
    return int(value)


# Charts: geometry computed here, drawn by templates/reports/_*.html as SVG


@dataclass
class Bar:
    x: str
    y: str
    width: str
    height: str
    css: str
    title: str


@dataclass
class Label:
    x: str
    y: str
    text: str


def _n(value: float) -> str:
    return f"{value:.1f}"


def nice_top(value: float) -> int:
    """The axis maximum: 1, 2 or 5 times a power of ten, at least the value (and at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover (the loop always returns)


def seconds_text(value: float | None) -> str:
    if value is None:
        return "–"
    value = round(value)
    if value < 60:
        return f"{value} s"
    if value < 3600:
        minutes, seconds = divmod(value, 60)
        return f"{minutes} min {seconds:02d} s"
    hours, rest = divmod(value, 3600)
    return f"{hours} h {rest // 60:02d} min"


def day_chart(
    days: list[tuple[date, list[tuple[int, str, str]]]], *, title: str, width: int = 720
) -> dict:
    """Stacked vertical bars, one per day. Each day has (value, css class, what it counts)."""
    height, left, bottom, top = 220, 44, 26, 10
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = nice_top(max((sum(v for v, _, _ in parts) for _, parts in days), default=0))
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.78, 1.0)
    bars, x_labels = [], []
    every = math.ceil(len(days) / max(width // 90, 2)) or 1  # a date label per 90 units
    for i, (day, parts) in enumerate(days):
        x = left + i * slot + (slot - bar_w) / 2
        base = float(top + plot_h)
        for value, css, what in parts:
            if value <= 0:
                continue
            h = value / peak * plot_h
            base -= h
            bars.append(
                Bar(_n(x), _n(base), _n(bar_w), _n(h), css, f"{day:%a %d %b}: {value} {what}")
            )
        if i % every == 0:
            x_labels.append(Label(_n(left + i * slot + slot / 2), str(height - 8), f"{day:%d %b}"))
    ticks = [
        Label(str(left - 6), _n(top + plot_h - fraction * plot_h), str(round(peak * fraction)))
        for fraction in (0, 0.5, 1)
        if fraction == 0 or peak * fraction == int(peak * fraction)
    ]
    return {
        "title": title,
        "width": width,
        "height": height,
        "bars": bars,
        "x_labels": x_labels,
        "ticks": ticks,
        "grid_left": str(left),
        "grid_right": str(width - 8),
        "grid_lines": [tick.y for tick in ticks],
    }


def row_chart(
    rows: list[tuple[str, int]],
    *,
    title: str,
    css: str = "bar-a",
    width: int = 480,
    label_w: int = 150,
) -> dict:
    """Horizontal bars, one per labelled row, with the value written after each bar. The width
    is about the width it is shown at, so that its text stays the size of the page's."""
    row_h, value_w = 26, 50
    plot_w = width - label_w - value_w
    peak = max((value for _, value in rows), default=0) or 1
    bars, labels, values = [], [], []
    for i, (label, value) in enumerate(rows):
        y = 6 + i * row_h
        w = value / peak * plot_w
        bars.append(
            Bar(str(label_w), str(y), _n(max(w, 0)), str(row_h - 8), css, f"{label}: {value}")
        )
        labels.append(Label(str(label_w - 8), str(y + row_h - 13), label[: label_w // 7]))
        values.append(Label(_n(label_w + w + 6), str(y + row_h - 13), str(value)))
    return {
        "title": title,
        "width": width,
        "height": 12 + row_h * max(len(rows), 1),
        "bars": bars,
        "labels": labels,
        "values": values,
    }


# The page


def _ordered(stats_of: dict, name_of) -> list[tuple[str, Stats]]:
    rows = [(name_of(key), stats) for key, stats in stats_of.items()]
    return sorted(rows, key=lambda row: (-row[1].sessions, row[0]))


def shown(stats: Stats, name: str = "") -> dict:
    """A row of numbers as the page shows them."""
    return {
        "name": name,
        "stats": stats,
        "joined_share": f"{stats.joined / stats.sessions:.0%}" if stats.sessions else "–",
        "median_wait": seconds_text(stats.median_wait),
        "p90_wait": seconds_text(stats.p90_wait),
        "median_duration": seconds_text(stats.median_duration),
        "p90_duration": seconds_text(stats.p90_duration),
    }


NARROW: dict[str, Any] = {"width": 340, "label_w": 100}  # charts in a half-width section


def report_context(report: Report) -> dict:
    days = sorted(report.days.items())
    sites = _ordered(report.sites, report.site_name)
    agents = _ordered(report.agents, report.agent_name)
    total = report.total
    unanswered = max(total.write_requests - total.approvals - total.denials, 0)
    return {
        "unanswered": unanswered,
        "days_newest_first": days[::-1],
        "total": shown(total, gettext("All")),
        "wait_buckets": report.wait_buckets,
        "duration_buckets": report.duration_buckets,
        "sessions_chart": day_chart(
            [
                (
                    day,
                    [
                        (s.joined, "bar-a", gettext("joined by an agent")),
                        (s.never_joined, "bar-b", gettext("never joined")),
                    ],
                )
                for day, s in days
            ],
            title=gettext("Sessions started per day"),
        ),
        "wait_chart": row_chart(
            report.wait_buckets, title=gettext("Time from start to join"), **NARROW
        ),
        "duration_chart": row_chart(
            report.duration_buckets, title=gettext("Duration, join to end"), **NARROW
        ),
        "write_chart": row_chart(
            [
                (gettext("Requests"), total.write_requests),
                (gettext("Approved"), total.approvals),
                (gettext("Denied"), total.denials),
                (gettext("Unanswered"), unanswered),
            ],
            title=gettext("Write mode"),
            css="bar-c",
            **NARROW,
        ),
        "alerts_chart": day_chart(
            [(day, [(s.privacy_alerts, "bar-d", gettext("privacy alerts"))]) for day, s in days],
            title=gettext("Privacy alerts per day"),
            width=NARROW["width"],
        ),
        "breakdowns": [
            {
                "id": "site",
                "rows": [shown(stats, name) for name, stats in sites],
                "chart": row_chart(
                    [(name, s.sessions) for name, s in sites], title=gettext("Sessions by site")
                ),
            },
            {
                "id": "agent",
                "rows": [shown(stats, name) for name, stats in agents],
                "chart": row_chart(
                    [(name, s.sessions) for name, s in agents], title=gettext("Sessions by agent")
                ),
            },
        ],
    }


@login_required
@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    if refusal := _refuse_unless_supervisor(request):
        return refusal
    period, errors = period_from(request.GET)
    if request.GET.get("format") == "csv":
        table = request.GET.get("table", "")
        if table not in CSV_TABLES:
            errors.append(
                gettext("Choose a table: %(tables)s.") % {"tables": ", ".join(CSV_TABLES)}
            )
        if errors or period is None:
            return HttpResponse("\n".join(errors) + "\n", status=400, content_type="text/plain")
        return csv_response(period, table)
    context = {
        "nav_supervisor": True,
        "errors": errors,
        "period": period,
        "sites": Site.objects.order_by("name"),
        "agents": get_user_model()
        .objects.filter(groups__name=AGENTS_GROUP)
        .order_by("username")
        .distinct(),
        "form": request.GET,
        "query": _query(request.GET),
        "presets": _presets(request.GET),
    }
    if period is not None:
        context |= report_context(report_for_period(period))
    response = render(request, "reports/reports.html", context, status=400 if errors else 200)
    response["Content-Security-Policy"] = REPORTS_CSP
    return response


def _presets(params) -> list[tuple[str, str]]:
    """Links to the last 7, 30 and 90 days, keeping the site and agent chosen."""
    today = timezone.now().date()
    presets = []
    for days in (7, 30, 90):
        kept = params.copy()
        for name in ("format", "table"):
            kept.pop(name, None)
        kept["from"] = (today - timedelta(days=days - 1)).isoformat()
        kept["to"] = today.isoformat()
        presets.append((gettext("Last %(days)s days") % {"days": days}, kept.urlencode()))
    return presets


def _query(params) -> str:
    """The filters, for the CSV links (without format and table)."""
    kept = params.copy()
    for name in ("format", "table"):
        kept.pop(name, None)
    return kept.urlencode()


# CSV


def _cell(value) -> str:
    """A cell a spreadsheet shows as text: a leading = + - @ would make it a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


STATS_HEADER = [
    "sessions",
    "joined",
    "median_wait_s",
    "p90_wait_s",
    "median_duration_s",
    "p90_duration_s",
    "write_requests",
    "write_approvals",
    "write_denials",
    "privacy_alerts",
]


def _stats_row(s: Stats) -> list:
    return [
        s.sessions,
        s.joined,
        _seconds(s.median_wait),
        _seconds(s.p90_wait),
        _seconds(s.median_duration),
        _seconds(s.p90_duration),
        s.write_requests,
        s.approvals,
        s.denials,
        s.privacy_alerts,
    ]


def csv_rows(period: ReportPeriod, table: str):
    if table == "sessions":
        yield [
            "session_id",
            "site",
            "agent",
            "created",
            "joined_at",
            "ended_at",
            "end_reason",
            "wait_s",
            "duration_s",
            "write_requests",
            "write_approvals",
            "write_denials",
            "privacy_alerts",
        ]
        for row in report_sessions(period):
            yield [
                row.code,
                row.site,
                row.agent,
                row.created.isoformat(),
                row.joined_at.isoformat() if row.joined_at else "",
                row.ended_at.isoformat() if row.ended_at else "",
                row.end_reason,
                _seconds(row.wait_seconds),
                _seconds(row.duration_seconds),
                row.write_requests,
                row.approvals,
                row.denials,
                row.privacy_alerts,
            ]
        return
    report = report_for_period(period)
    if table == "days":
        yield ["date", *STATS_HEADER]
        for day, stats in sorted(report.days.items()):
            yield [day.isoformat(), *_stats_row(stats)]
    elif table in ("wait", "duration"):
        yield ["bucket", "sessions"]
        yield from report.wait_buckets if table == "wait" else report.duration_buckets
    elif table == "sites":
        yield ["site", *STATS_HEADER]
        for name, stats in _ordered(report.sites, report.site_name):
            yield [name, *_stats_row(stats)]
    elif table == "agents":
        yield ["agent", *STATS_HEADER]
        for name, stats in _ordered(report.agents, report.agent_name):
            yield [name, *_stats_row(stats)]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(period: ReportPeriod, table: str) -> HttpResponse:
    writer = csv.writer(_Echo())
    body = "".join(writer.writerow([_cell(v) for v in row]) for row in csv_rows(period, table))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    name = f"cobrowse-{table}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
