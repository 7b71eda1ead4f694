"""The reports page in Chromium, with a fortnight of seeded sessions: it draws under its own strict
Content-Security-Policy and a supervisor reads the numbers; test-artifacts/reports.png shows it."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import ARTIFACTS

pytestmark = pytest.mark.e2e

# Run by manage.py shell on the live server's database: 14 days of ended sessions for the demo
# site, joined by one of two agents (or nobody), some with write mode asked, denied or approved,
# a few privacy alerts. Session and alert times are set on the rows afterwards, as a real fortnight
# would leave them (audit entries keep theirs: their times are part of their hash chain).
SEED = """
import random
from datetime import timedelta
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone
from policies.guard import Alert
from policies.models import PrivacyAlert, Site
from sessions_app import services
from sessions_app.models import CobrowseSession as S

def seed():
    rng = random.Random(15)
    # A site of this test's own: other tests' sessions on the demo site count in the same period.
    site, _ = Site.objects.get_or_create(
        name="Reports test shop", defaults={"allowed_origins": "http://reports.example"}
    )
    # Agents of this test's own: the demo's may be in a live session of another test.
    group = Group.objects.get(name="Agents")
    agents = []
    for username, first in (("ana", "Ana"), ("ben", "Ben")):
        user, _ = User.objects.get_or_create(username=username, first_name=first, last_name="Agent")
        user.groups.add(group)
        agents.append(user)
    now = timezone.now()
    made = 0
    for day in range(14):
        for n in range(rng.randint(2, 9)):
            session, _ = services.session_create(site=site)
            agent = rng.choice(agents) if rng.random() < 0.85 else None
            if agent:
                services.session_join(agent=agent, code=session.code)
                if rng.random() < 0.5:
                    services.session_write_requested(session_id=session.pk, agent_id=agent.pk)
                    if rng.random() < 0.7:
                        services.session_set_mode(
                            session_id=session.pk, mode="write", agent_id=agent.pk, by="customer"
                        )
                    else:
                        services.session_write_denied(session_id=session.pk)
                if rng.random() < 0.15:
                    services.privacy_alerts_record(
                        session_id=session.pk, url="", alerts=[Alert(5, "input_value", "#card")]
                    )
            services.session_end(session=session, reason="customer_exit")
            start = now - timedelta(days=day, hours=rng.randint(0, 6), minutes=rng.randint(0, 59))
            joined = start + timedelta(seconds=rng.choice([4, 8, 15, 25, 45, 70, 150, 400]))
            ended = joined + timedelta(seconds=rng.randint(40, 2400))
            S.objects.filter(pk=session.pk).update(
                created=start, joined_at=joined if agent else None, ended_at=ended
            )
            PrivacyAlert.objects.filter(session=session).update(created=start)
            made += 1
    return made


with transaction.atomic():  # one commit for the lot: seconds faster on SQLite
    made = seed()
    print(Site.objects.get(name="Reports test shop").pk, made)
"""


def test_a_supervisor_reads_a_fortnight_of_sessions_at_a_glance(server, browser):
    site_id, seeded = map(int, server.manage("shell", "-c", SEED).strip().splitlines()[-1].split())
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page: Page = context.new_page()
    page.set_default_timeout(10_000)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
    try:
        page.goto(server.agent_base + f"/accounts/login/?next=/reports/%3Fsite%3D{site_id}")
        page.fill("#id_username", "supervisor")
        page.fill("#id_password", "supervisor-demo-pass")
        page.click("[data-testid=login-submit]")
        expect(page.get_by_test_id("total-sessions")).to_have_text(str(seeded))
        # Fourteen days with sessions: a stacked bar (or two) for each, drawn from the markup.
        day_bars = page.locator("[data-testid=sessions-chart] rect")
        assert day_bars.count() >= 14
        box = page.get_by_test_id("sessions-chart").bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 100
        # The stylesheet applied (bars are coloured by class, not by inline style).
        fill = day_bars.first.evaluate("rect => getComputedStyle(rect).fill")
        assert fill in ("rgb(31, 79, 209)", "rgb(169, 188, 240)")
        assert page.locator("[data-testid=agent-table] tbody tr").count() >= 2
        page.get_by_test_id("report-agent").select_option(label="Ana Agent (ana)")
        page.get_by_test_id("report-show").click()
        expect(page.get_by_test_id("agent-table").locator("tbody tr")).to_have_count(1)
        page.go_back()
        expect(page.get_by_test_id("total-sessions")).to_have_text(str(seeded))
        # The form shows the filters of the numbers shown, not those typed before going back.
        expect(page.get_by_test_id("report-agent")).to_have_value("")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "reports.png"), full_page=True)
        assert not [text for text in console if "Content Security Policy" in text], console
    finally:
        context.close()
