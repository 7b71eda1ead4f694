"""Reports at /reports/: who may read them, what they count, the charts, CSV and their indexes."""

import asyncio
import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from policies.guard import Alert
from policies.models import PrivacyAlert, Site
from sessions_app import services
from sessions_app.models import AuditEntry, CobrowseSession
from sessions_app.reports import day_chart, nice_top, row_chart
from sessions_app.selectors import ReportPeriod, percentile
from tests.test_consumers import connected_pair

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def session_with(site, agent=None, *, wait=None, duration=None, days_ago=0) -> CobrowseSession:
    """A session started `days_ago` at noon, joined after `wait` seconds, ended `duration`
    seconds after the join (times set on the row; the services did the rest)."""
    session, _ = services.session_create(site=site)
    if agent is not None and wait is not None:
        session = services.session_join(agent=agent, code=session.code)
    if duration is not None or agent is None:
        session = services.session_end(session=session, reason="customer_exit")
    created = datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), UTC)
    created += timedelta(hours=12)
    joined = created + timedelta(seconds=wait) if wait is not None else None
    ended = joined + timedelta(seconds=duration) if joined and duration is not None else None
    if session.is_live:
        ended = None
    elif ended is None:
        ended = created + timedelta(minutes=1)
    CobrowseSession.objects.filter(pk=session.pk).update(
        created=created, joined_at=joined, ended_at=ended
    )
    return CobrowseSession.objects.get(pk=session.pk)


def csv_of(user, query: str) -> list[dict]:
    response = logged_in(user).get(f"/reports/?{query}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.content.decode())))


# Who may read them


def test_agents_get_a_refusal_page(agent):
    response = logged_in(agent).get("/reports/")
    assert response.status_code == 403
    assert "Reports are for supervisors" in response.content.decode()
    assert logged_in(agent).get("/reports/?format=csv&table=days").status_code == 403


def test_a_user_with_no_role_is_refused_and_anonymous_visitors_must_log_in(nobody):
    assert logged_in(nobody).get("/reports/").status_code == 403
    response = Client().get("/reports/?format=csv&table=sessions")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/reports/")


def test_supervisors_and_administrators_read_them(supervisor, administrator, site):
    for user in (supervisor, administrator):
        response = logged_in(user).get("/reports/")
        assert response.status_code == 200
        assert 'data-testid="report-totals"' in response.content.decode()


def test_the_supervisor_page_and_the_admin_index_link_to_them(supervisor, administrator):
    assert 'href="/reports/"' in logged_in(supervisor).get("/supervisor/").content.decode()
    assert 'href="/reports/"' in logged_in(administrator).get("/admin/").content.decode()


def test_the_page_runs_no_script_and_needs_no_inline_style(supervisor, site, agent):
    session_with(site, agent, wait=5, duration=60)
    response = logged_in(supervisor).get("/reports/")
    policy = dict(d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["style-src"] == "'self'"
    assert "script-src" not in policy  # default-src 'none' forbids every script
    html = response.content.decode()
    assert "<script" not in html and "style=" not in html and "<style" not in html
    assert not re.search(r"\son[a-z]+=", html)  # no onclick= and such
    assert '<link rel="stylesheet" href="/static/cobrowse/reports.css">' in html
    assert html.count("<svg") == 7


# What they count


def test_it_counts_sessions_per_day_and_those_an_agent_joined(supervisor, site, agent):
    session_with(site, agent, wait=5, duration=60)
    session_with(site, agent, wait=8, duration=60)
    session_with(site)  # nobody joined
    session_with(site, agent, wait=5, duration=60, days_ago=2)
    session_with(site, agent, wait=5, duration=60, days_ago=40)  # before the period
    rows = {row["date"]: row for row in csv_of(supervisor, "format=csv&table=days")}
    assert len(rows) == 30 and min(rows) == (TODAY - timedelta(days=29)).isoformat()
    assert (rows[TODAY.isoformat()]["sessions"], rows[TODAY.isoformat()]["joined"]) == ("3", "2")
    two_days_ago = (TODAY - timedelta(days=2)).isoformat()
    assert (rows[two_days_ago]["sessions"], rows[two_days_ago]["joined"]) == ("1", "1")
    assert sum(int(row["sessions"]) for row in rows.values()) == 4
    html = logged_in(supervisor).get("/reports/").content.decode()
    assert 'data-testid="total-sessions">4<' in html


def test_wait_and_duration_are_the_median_and_the_90th_percentile(supervisor, site, agent):
    for n in range(1, 11):
        # One session at a time per agent: each ends before the next starts.
        session_with(site, agent, wait=n, duration=60 * n)
    [row] = csv_of(supervisor, "format=csv&table=sites")
    assert row["site"] == "Shop" and row["sessions"] == "10" and row["joined"] == "10"
    assert (row["median_wait_s"], row["p90_wait_s"]) == ("5.0", "9.0")
    assert (row["median_duration_s"], row["p90_duration_s"]) == ("300.0", "540.0")
    html = logged_in(supervisor).get("/reports/").content.decode()
    assert 'data-testid="total-wait">5 s <small>/ 9 s</small>' in html
    assert 'data-testid="total-duration">5 min 00 s <small>/ 9 min 00 s</small>' in html
    buckets = {
        row["bucket"]: row["sessions"] for row in csv_of(supervisor, "format=csv&table=wait")
    }
    assert buckets["under 10 s"] == "9" and buckets["10–30 s"] == "1"


def test_percentiles_are_nearest_rank():
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.0
    assert percentile([float(n) for n in range(1, 101)], 0.9) == 90.0


@pytest.mark.django_db(transaction=True)
async def test_write_mode_requests_approvals_and_denials_come_from_the_sockets(
    site, agent, supervisor, settings
):
    settings.COBROWSE_WRITE_REQUEST_TIMEOUT = 1  # a new request window after a second
    settings.COBROWSE_WRITE_RETRY_AFTER_DENIAL = 0
    session, _, customer, agent_ws = await connected_pair(site, agent)
    await agent_ws.send_json_to({"type": "write.request"})
    assert (await customer.receive_json_from(timeout=5))["type"] == "write.request"
    await customer.send_json_to({"type": "write.deny"})
    assert (await agent_ws.receive_json_from(timeout=5))["type"] == "write.denied"
    await asyncio.sleep(1.1)
    await agent_ws.send_json_to({"type": "write.request"})
    assert (await customer.receive_json_from(timeout=5))["type"] == "write.request"
    await customer.send_json_to({"type": "write.approve"})
    assert (await agent_ws.receive_json_from(timeout=5))["mode"] == "write"
    await customer.disconnect()
    await agent_ws.disconnect()

    @database_sync_to_async
    def read():
        kinds = list(AuditEntry.objects.chain(session.pk).values_list("kind", "actor"))
        [row] = csv_of(supervisor, "format=csv&table=agents")
        return kinds, row, AuditEntry.objects.first_broken(session.pk)

    kinds, row, broken = await read()
    assert ("write_denied", "customer") in kinds and broken is None
    assert (row["agent"], row["write_requests"]) == ("alice", "2")
    assert (row["write_approvals"], row["write_denials"]) == ("1", "1")


@pytest.mark.django_db(transaction=True)
def test_privacy_alerts_are_counted_by_day_site_and_agent(supervisor, site, agent, second_agent):
    other = Site.objects.create(name="Bank", allowed_origins="https://bank.example.com")
    mine = session_with(site, agent, wait=3)
    theirs = session_with(other, second_agent, wait=3)
    alerts = [Alert(node_id=5, kind="input_value", selector="#x"), Alert(6, "text", ".y")]
    services.privacy_alerts_record(session_id=mine.pk, url="", alerts=alerts)
    services.privacy_alerts_record(session_id=theirs.pk, url="", alerts=alerts[:1])
    agents = {row["agent"]: row for row in csv_of(supervisor, "format=csv&table=agents")}
    assert (agents["alice"]["privacy_alerts"], agents["bob"]["privacy_alerts"]) == ("2", "1")
    sites = {row["site"]: row for row in csv_of(supervisor, "format=csv&table=sites")}
    assert (sites["Shop"]["privacy_alerts"], sites["Bank"]["privacy_alerts"]) == ("2", "1")
    [today] = [r for r in csv_of(supervisor, "format=csv&table=days") if r["date"] == str(TODAY)]
    assert today["privacy_alerts"] == "3"


def test_it_filters_by_site_and_by_agent(supervisor, site, agent, second_agent):
    other = Site.objects.create(name="Bank", allowed_origins="https://bank.example.com")
    session_with(site, agent, wait=3, duration=10)
    session_with(site, second_agent, wait=3, duration=10)
    session_with(other, agent, wait=3, duration=10)
    rows = csv_of(supervisor, f"site={site.pk}&format=csv&table=sessions")
    assert sorted((r["site"], r["agent"]) for r in rows) == [("Shop", "alice"), ("Shop", "bob")]
    rows = csv_of(supervisor, f"agent={agent.pk}&format=csv&table=sessions")
    assert sorted((r["site"], r["agent"]) for r in rows) == [("Bank", "alice"), ("Shop", "alice")]
    rows = csv_of(supervisor, f"site={other.pk}&agent={second_agent.pk}&format=csv&table=sites")
    assert rows == []
    html = logged_in(supervisor).get(f"/reports/?site={site.pk}").content.decode()
    assert f'<option value="{site.pk}" selected>Shop</option>' in html
    # The CSV links keep the filters.
    assert f"/reports/?site={site.pk}&amp;format=csv&amp;table=days" in html


def test_a_chosen_period_is_reported_day_by_day(supervisor, site, agent):
    session_with(site, agent, wait=3, duration=10, days_ago=3)
    start, end = TODAY - timedelta(days=4), TODAY - timedelta(days=2)
    rows = csv_of(supervisor, f"from={start}&to={end}&format=csv&table=days")
    assert [r["date"] for r in rows] == [str(start), str(TODAY - timedelta(days=3)), str(end)]
    assert [r["sessions"] for r in rows] == ["0", "1", "0"]
    [row] = csv_of(supervisor, f"from={start}&to={end}&format=csv&table=sessions")
    assert row["session_id"] and row["wait_s"] == "3.0" and row["duration_s"] == "10.0"


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=2025-02-30", "The “from” date must look like 2025-03-31."),
        ("from=2025-03-02&to=2025-03-01", "The “from” date is after the “to” date."),
        ("from=2023-01-01&to=2025-01-01", "Choose at most 366 days."),
        ("site=999", "There is no such site."),
        ("agent=abc", "There is no such agent."),
    ],
)
def test_a_period_or_filter_it_cannot_read_is_refused_with_a_reason(supervisor, query, message):
    response = logged_in(supervisor).get(f"/reports/?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()
    response = logged_in(supervisor).get(f"/reports/?{query}&format=csv&table=days")
    assert response.status_code == 400 and message in response.content.decode()


def test_a_csv_needs_a_table_name(supervisor):
    response = logged_in(supervisor).get("/reports/?format=csv")
    assert response.status_code == 400
    assert "days, wait, duration, sites, agents, sessions" in response.content.decode()


@pytest.mark.parametrize("table", ["days", "wait", "duration", "sites", "agents", "sessions"])
def test_each_csv_is_a_download_with_a_header(supervisor, site, agent, table):
    session_with(site, agent, wait=3, duration=10)
    response = logged_in(supervisor).get(f"/reports/?format=csv&table={table}")
    start = TODAY - timedelta(days=29)
    assert response["Content-Disposition"] == (
        f'attachment; filename="cobrowse-{table}-{start}-{TODAY}.csv"'
    )
    header, *rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert header[0] in ("date", "bucket", "site", "agent", "session_id") and rows


def test_a_name_a_spreadsheet_would_run_as_a_formula_is_exported_as_text(supervisor, agent):
    site = Site.objects.create(name="=HYPERLINK(1)", allowed_origins="https://x.example.com")
    session_with(site, agent, wait=3, duration=10)
    [row] = csv_of(supervisor, "format=csv&table=sites")
    assert row["site"] == "'=HYPERLINK(1)"


# Charts


def test_day_bars_are_as_tall_as_their_value_on_a_round_axis():
    assert [nice_top(v) for v in (0, 1, 3, 7, 10, 11, 240)] == [1, 1, 5, 10, 10, 20, 500]
    day = TODAY
    chart = day_chart([(day, [(2, "bar-a", "joined"), (3, "bar-b", "not")])], title="t")
    a, b = chart["bars"]
    plot = 220 - 26 - 10
    assert float(a.height) == pytest.approx(2 / 5 * plot, abs=0.1)
    assert float(b.height) == pytest.approx(3 / 5 * plot, abs=0.1)
    assert float(b.y) + float(b.height) == pytest.approx(float(a.y), abs=0.1)  # stacked
    assert a.title.endswith(": 2 joined")
    assert [tick.text for tick in chart["ticks"]] == ["0", "5"]  # 2.5 is no round number


def test_row_bars_are_as_long_as_their_value():
    chart = row_chart([("a", 4), ("b", 1), ("c", 0)], title="t")
    widths = [float(bar.width) for bar in chart["bars"]]
    assert widths[0] == pytest.approx(4 * widths[1], abs=0.1) and widths[2] == 0
    assert [value.text for value in chart["values"]] == ["4", "1", "0"]


# Indexes


def plan(queryset) -> str:
    """The database's plan for the query (SQLite and PostgreSQL both name the index used)."""
    return str(queryset.explain())


@pytest.mark.parametrize(
    "filters, index",
    [({}, "session_created"), ({"site_id": 1}, "session_site_created")],
)
def test_the_sessions_of_a_period_are_read_through_an_index(filters, index):
    period = ReportPeriod(start=TODAY - timedelta(days=29), end=TODAY)
    rows = CobrowseSession.objects.filter(
        created__gte=period.since, created__lt=period.until, **filters
    )
    assert index in plan(rows)


def test_the_sessions_of_one_agent_are_read_through_an_index(agent):
    period = ReportPeriod(start=TODAY - timedelta(days=29), end=TODAY)
    rows = CobrowseSession.objects.filter(
        created__gte=period.since, created__lt=period.until, agent_id=agent.pk
    )
    assert "session_agent_created" in plan(rows)


def test_write_mode_events_and_alerts_of_a_period_are_read_through_indexes():
    period = ReportPeriod(start=TODAY - timedelta(days=29), end=TODAY)
    entries = AuditEntry.objects.filter(
        kind__in=["write_requested", "write_denied", "mode"],
        created__gte=period.since,
        created__lt=period.until,
    )
    assert "audit_kind_created" in plan(entries)
    alerts = PrivacyAlert.objects.filter(created__gte=period.since, created__lt=period.until)
    assert "alert_created" in plan(alerts)
    assert "alert_site_created" in plan(alerts.filter(site_id=1))


def test_the_reports_command_line_checks_pass():
    # The migrations hold every index the models name (no model change left unmigrated).
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_the_charts_errors_and_buckets_speak_the_supervisors_language(supervisor, site, agent):
    session_with(site, agent, wait=5, duration=30)
    page = logged_in(supervisor).get("/reports/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    for german in ("Gestartete Sitzungen pro Tag", "unter 10 s", "Letzte 7 Tage"):
        assert german in page
    assert "Sessions started per day" not in page
    wrong = logged_in(supervisor).get("/reports/?from=2026-13-01", HTTP_ACCEPT_LANGUAGE="fr")
    assert wrong.status_code == 400
    assert "doit avoir la forme 2025-03-31" in wrong.content.decode()
