"""Retention per site: the purge, its record, verify_audit afterwards, and the data-subject export."""

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone

from policies.guard import Alert
from policies.models import PrivacyAlert, Site
from sessions_app import services
from sessions_app.models import (
    AgentAction,
    AuditEntry,
    ChatMessage,
    CobrowseSession,
    Interaction,
    Purge,
    PurgedSession,
)
from sessions_app.retention import retention_purge, subject_export

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
NOW = timezone.now()


def ended_session(site, agent=None, *, days_ago: float = 0) -> CobrowseSession:
    """A session the customer started, an agent joined and worked in, that ended `days_ago`."""
    session, _ = services.session_create(site=site, url="https://shop.example.com/checkout/")
    if agent is not None:
        session = services.session_join(agent=agent, code=session.code)
        services.session_set_mode(session_id=session.pk, mode="write", agent_id=agent.pk, by="x")
        services.agent_actions_record(
            actions=[
                {
                    "session_id": session.pk,
                    "agent_id": agent.pk,
                    "kind": "click",
                    "target": "button#pay",
                    "node_id": 7,
                    "url": "https://shop.example.com/checkout/",
                    "detail": "",
                }
            ]
        )
    session = services.session_end(session=session, reason="customer_exit")
    when = NOW - timedelta(days=days_ago)
    CobrowseSession.objects.filter(pk=session.pk).update(created=when, ended_at=when)
    return CobrowseSession.objects.get(pk=session.pk)


def ended_chat(site, agent, *, days_ago: float, text="My card ends 4242") -> Interaction:
    chat, _ = services.chat_start(site=site, name="Carol Customer")
    services.interaction_accept(agent=agent, interaction_id=chat.pk)
    services.chat_post(interaction=chat, sender="customer", text=text)
    services.interaction_end(interaction=chat, by="customer")
    Interaction.objects.filter(pk=chat.pk).update(ended_at=NOW - timedelta(days=days_ago))
    return chat


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# The site's settings


def test_a_new_site_keeps_sessions_and_alerts_a_year_and_chats_ninety_days(site):
    assert (site.session_retention_days, site.chat_retention_days) == (365, 90)
    assert site.alert_retention_days == 365


def test_the_admin_shows_and_edits_a_sites_retention(administrator, site):
    client = Client()
    client.force_login(administrator)
    page = client.get(f"/admin/policies/site/{site.pk}/change/").content.decode()
    for name in ("session_retention_days", "chat_retention_days", "alert_retention_days"):
        assert f'name="{name}"' in page
    assert "365 / 90 / 365" in client.get("/admin/policies/site/").content.decode()


def test_administrators_set_a_sites_retention_through_the_api(administrator, site):
    client = Client()
    client.force_login(administrator)
    response = client.patch(
        f"/api/v1/sites/{site.key}/",
        data=json.dumps({"session_retention_days": 30, "chat_retention_days": None}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["session_retention_days"] == 30
    site.refresh_from_db()
    assert (site.session_retention_days, site.chat_retention_days) == (30, None)
    assert site.alert_retention_days == 365
    refused = client.patch(
        f"/api/v1/sites/{site.key}/",
        data=json.dumps({"alert_retention_days": -1}),
        content_type="application/json",
    )
    assert refused.status_code == 400 and "alert_retention_days" in refused.json()


# The purge


def test_it_deletes_sessions_that_ended_before_the_cutoff_with_their_whole_audit_trail(
    site, agent, second_agent
):
    old = ended_session(site, agent, days_ago=400)
    recent = ended_session(site, second_agent, days_ago=10)
    live, _ = services.session_create(site=site)
    CobrowseSession.objects.filter(pk=live.pk).update(created=NOW - timedelta(days=500))
    [result, calls] = retention_purge(now=NOW)
    assert (result.sessions, result.audit_entries, result.agent_actions) == (1, 5, 2)
    assert calls.site is None and calls.chats == 0
    assert not CobrowseSession.objects.filter(pk=old.pk).exists()
    assert not AuditEntry.objects.filter(session_id=old.pk).exists()
    assert not AgentAction.objects.filter(session_id=old.pk).exists()
    kept = set(CobrowseSession.objects.values_list("pk", flat=True))
    assert kept == {recent.pk, live.pk}  # a live session is never purged, however old
    out, _ = run("verify_audit", "--all")
    assert "All 2 audit chains verify." in out
    assert "1 session was purged by retention (manage.py purge)" in out


def test_each_purge_is_recorded_with_its_counts_cutoffs_and_the_head_of_each_chain(site, agent):
    old = ended_session(site, agent, days_ago=400)
    head = AuditEntry.objects.chain(old.pk).last()
    run("purge")
    purge = Purge.objects.get()
    assert (purge.site, purge.site_name, purge.sessions, purge.audit_entries) == (
        site,
        "Shop",
        1,
        5,
    )
    assert abs(purge.sessions_ended_before - (timezone.now() - timedelta(days=365))) < timedelta(
        minutes=1
    )
    assert purge.chats_ended_before is not None and purge.alerts_raised_before is not None
    gone = PurgedSession.objects.get()
    assert (gone.session_id, gone.code, gone.audit_entries) == (old.pk, old.code, 5)
    assert gone.last_hash == head.hash and gone.purge == purge


def test_verify_audit_reports_a_purged_session_as_purged_by_its_id_or_database_id(site, agent):
    old = ended_session(site, agent, days_ago=400)
    head = AuditEntry.objects.chain(old.pk).last().hash
    retention_purge(now=NOW)
    for given in (old.code, old.code_display, str(old.pk)):
        out, err = run("verify_audit", given)
        assert f"Session {old.code_display} (id {old.pk}): PURGED on " in out, given
        assert f"by retention (Shop); its chain verified then: 5 entries, latest hash {head}" in out
        assert err == ""


def test_a_session_whose_chain_does_not_verify_is_kept_and_reported(site, agent, second_agent):
    tampered = ended_session(site, agent, days_ago=400)
    fine = ended_session(site, second_agent, days_ago=400)
    AuditEntry.objects.filter(session=tampered, seq=2).update(actor="agent:mallory")
    with pytest.raises(CommandError) as raised:
        run("purge")
    assert raised.value.returncode == 1
    assert "1 session was kept because its audit chain does not verify." in str(raised.value)
    assert CobrowseSession.objects.filter(pk=tampered.pk).exists()
    assert not CobrowseSession.objects.filter(pk=fine.pk).exists()
    [result, _] = retention_purge(now=NOW, dry_run=True)
    assert str(result.broken[0]) == (
        f"session {tampered.code_display} (id {tampered.pk}) was kept: its audit chain is broken "
        "at seq 2 (hash does not match the entry's contents: it was edited)"
    )


def test_a_dry_run_prints_what_would_go_and_deletes_nothing(site, agent):
    ended_session(site, agent, days_ago=400)
    ended_chat(site, agent, days_ago=100)
    before = (
        CobrowseSession.objects.count(),
        AuditEntry.objects.count(),
        ChatMessage.objects.count(),
    )
    out, _ = run("purge", "--dry-run")
    assert out.startswith("Shop: would delete 1 session ended before ")
    assert "(5 audit entries, 2 agent actions); 1 chat or call ended before " in out
    assert "(1 message); 0 privacy alerts raised before " in out
    assert "Calls without a site: would delete 0 chats and calls ended before " in out
    after = (
        CobrowseSession.objects.count(),
        AuditEntry.objects.count(),
        ChatMessage.objects.count(),
    )
    assert before == after and not Purge.objects.exists()


def test_chats_past_their_retention_go_with_their_transcript(site, agent):
    old = ended_chat(site, agent, days_ago=91)
    recent = ended_chat(site, agent, days_ago=89)
    session = ended_session(site, days_ago=1)
    CobrowseSession.objects.filter(pk=session.pk).update(interaction=old)
    live, _ = services.chat_start(site=site, name="Dan")
    Interaction.objects.filter(pk=live.pk).update(created=NOW - timedelta(days=200))
    out, _ = run("purge")
    assert "1 chat or call ended before" in out and "(1 message)" in out
    assert set(Interaction.objects.values_list("pk", flat=True)) == {recent.pk, live.pk}
    assert not ChatMessage.objects.filter(text="My card ends 4242", interaction=old.pk).exists()
    assert CobrowseSession.objects.get(pk=session.pk).interaction is None
    assert Purge.objects.get().chat_messages == 1


def test_calls_without_a_site_are_kept_as_long_as_the_most_lenient_site_keeps_chats(site, agent):
    Site.objects.create(
        name="Bank", allowed_origins="https://bank.example.com", chat_retention_days=30
    )
    call = services.voice_call_start(agent=agent, external_id="call-1", customer_name="Carol")
    services.interaction_end(interaction=call, by="integration")
    Interaction.objects.filter(pk=call.pk).update(ended_at=NOW - timedelta(days=60))
    retention_purge(now=NOW)
    assert Interaction.objects.filter(pk=call.pk).exists()  # the shop keeps chats 90 days
    Interaction.objects.filter(pk=call.pk).update(ended_at=NOW - timedelta(days=91))
    [*_, calls] = retention_purge(now=NOW)
    assert calls.site is None and calls.chats == 1
    assert Purge.objects.get(site=None).site_name == "Calls without a site"


def test_privacy_alerts_have_their_own_retention_and_outlive_their_session(site, agent):
    site.session_retention_days, site.alert_retention_days = 30, 365
    site.save()
    session = ended_session(site, days_ago=100)
    old_session = ended_session(site, days_ago=100)
    for s in (session, old_session):
        services.privacy_alerts_record(session_id=s.pk, url="", alerts=[Alert(5, "text", ".x")])
    PrivacyAlert.objects.filter(session=old_session).update(created=NOW - timedelta(days=400))
    [result, _] = retention_purge(now=NOW)
    assert (result.sessions, result.privacy_alerts) == (2, 1)
    [kept] = PrivacyAlert.objects.all()
    assert kept.session is None and kept.site == site and kept.selector == ".x"


def test_an_empty_retention_keeps_everything_forever(site, agent):
    site.session_retention_days = site.chat_retention_days = site.alert_retention_days = None
    site.save()
    ended_session(site, agent, days_ago=5000)
    ended_chat(site, agent, days_ago=5000)
    out, _ = run("purge", "--site", "Shop")
    assert out == "Shop: keeps everything forever.\n"
    assert CobrowseSession.objects.count() == 1 and Interaction.objects.count() == 1
    assert not Purge.objects.exists()


def test_it_purges_only_the_sites_asked_for(site, agent):
    other = Site.objects.create(name="Bank", allowed_origins="https://bank.example.com")
    ended_session(site, days_ago=400)
    kept = ended_session(other, days_ago=400)
    out, _ = run("purge", "--site", site.key)
    assert out.startswith("Shop: deleted 1 session") and "Bank" not in out
    assert list(CobrowseSession.objects.values_list("pk", flat=True)) == [kept.pk]
    with pytest.raises(CommandError, match="No site has the name or key 'Nowhere'"):
        run("purge", "--site", "Nowhere")


@pytest.mark.django_db(transaction=True)
def test_the_loop_purges_again_after_each_interval(site):
    """`purge --loop` as an operator runs it, in its own process on this test's database."""
    ended_session(site, days_ago=400)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cobrowse.settings",
        "SQLITE_PATH": connection.settings_dict["NAME"],
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    if connection.vendor != "sqlite":
        pytest.fail("this test runs the command on the SQLite test database")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "purge", "--loop", "--interval", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("Shop: deleted 1 session ")
        proc.stdout.readline()  # calls without a site
        ended_session(site, days_ago=400)  # past the cutoff while the loop sleeps
        deadline = time.monotonic() + 20
        lines = []
        while time.monotonic() < deadline and not any("deleted 1 session" in x for x in lines):
            lines.append(proc.stdout.readline())
        assert any(line.startswith("Shop: deleted 1 session ") for line in lines), lines
        assert CobrowseSession.objects.count() == 0 and Purge.objects.count() == 2
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(
    "rows, index",
    [
        (lambda: CobrowseSession.objects.filter(site_id=1, ended_at__lt=NOW), "session_site_ended"),
        (lambda: Interaction.objects.filter(site_id=1, ended_at__lt=NOW), "interaction_site_ended"),
        (lambda: Interaction.objects.filter(site=None, ended_at__lt=NOW), "interaction_site_ended"),
        (lambda: PrivacyAlert.objects.filter(site_id=1, created__lt=NOW), "alert_site_created"),
        (lambda: PurgedSession.objects.filter(code="123456789"), "purged_session_code"),
        (lambda: PurgedSession.objects.filter(session_id=42), "purged_session_id"),
    ],
)
def test_the_purge_finds_what_is_due_through_an_index(rows, index):
    assert index in str(rows().filter().explain())


# The data-subject export


def test_the_export_holds_the_sessions_audit_trail_chat_and_alerts_and_no_secret(site, agent):
    chat, token = services.chat_start(site=site, name="Carol Customer")
    services.interaction_accept(agent=agent, interaction_id=chat.pk)
    services.chat_post(interaction=chat, sender="customer", text="Hello, my order 1234")
    session, customer_token = services.session_create(site=site)
    session = services.session_join(agent=agent, code=session.code)
    services.session_link(session=session, interaction=chat)
    services.privacy_alerts_record(session_id=session.pk, url="", alerts=[Alert(5, "text", ".x")])
    out, _ = run("export_subject", "--session", session.code_display)
    export = json.loads(out)
    assert (export["format"], export["version"]) == ("cobrowse-subject-export", 1)
    [s] = export["sessions"]
    assert (s["code"], s["site"], s["agent"], s["interaction"]) == (
        session.code,
        "Shop",
        "alice",
        chat.pk,
    )
    assert [e["kind"] for e in s["audit_entries"]] == [
        "created",
        "joined",
        "linked",
        "privacy_alert",
    ]
    assert s["audit_entries"][-1]["hash"] == AuditEntry.objects.chain(session.pk).last().hash
    assert s["privacy_alerts"] == [
        {
            "created": s["privacy_alerts"][0]["created"],
            "kind": "text",
            "node_id": 5,
            "selector": ".x",
            "url": "",
        }
    ]
    # The chat the session belongs to comes with it: the same customer.
    [c] = export["interactions"]
    assert (c["id"], c["customer_name"], c["sessions"]) == (chat.pk, "Carol Customer", [session.pk])
    assert [m["text"] for m in c["messages"]] == [
        "Hello, my order 1234",
        f"Co-browse session {session.code_display} started.",
    ]
    # Tokens (and their hashes) are credentials, not the customer's data.
    for secret in (token, customer_token, session.customer_token_hash, chat.customer_token_hash):
        assert secret not in out
    assert "customer_channel" not in out and export["purged_sessions"] == []


def test_a_chat_brings_its_sessions_and_a_purged_session_says_when_it_went(site, agent):
    chat = ended_chat(site, agent, days_ago=1)
    linked = ended_session(site, days_ago=1)
    CobrowseSession.objects.filter(pk=linked.pk).update(interaction=chat)
    old = ended_session(site, days_ago=400)
    retention_purge(now=NOW)
    export = subject_export(codes=[old.code], chat_ids=[chat.pk])
    assert [s["id"] for s in export["sessions"]] == [linked.pk]
    [gone] = export["purged_sessions"]
    assert (gone["id"], gone["code"]) == (old.pk, old.code) and gone["purged_at"]


def test_the_export_refuses_an_id_that_matches_nothing(site):
    with pytest.raises(CommandError, match=r"No session, kept or purged, has the ID 123 456 789\."):
        run("export_subject", "--session", "123456789")
    with pytest.raises(CommandError, match=r"No chat or call has the id 999\."):
        run("export_subject", "--chat", "999")
    with pytest.raises(CommandError, match="at least one --session CODE or --chat ID"):
        run("export_subject")


def test_the_export_writes_a_file_when_asked(site, tmp_path):
    session, _ = services.session_create(site=site)
    run("export_subject", "--session", session.code, "--output", str(tmp_path / "out.json"))
    export = json.loads((tmp_path / "out.json").read_text())
    assert export["sessions"][0]["id"] == session.pk


@pytest.mark.parametrize("model", ["cobrowsesession", "interaction"])
def test_the_admin_action_downloads_the_export(administrator, site, agent, model):
    chat = ended_chat(site, agent, days_ago=1)
    session = ended_session(site, days_ago=1)
    CobrowseSession.objects.filter(pk=session.pk).update(interaction=chat)
    client = Client()
    client.force_login(administrator)
    selected = session.pk if model == "cobrowsesession" else chat.pk
    response = client.post(
        f"/admin/sessions_app/{model}/",
        {"action": "export_for_subject", "_selected_action": [selected]},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="subject-export-')
    export = json.loads(response.content)
    assert [s["id"] for s in export["sessions"]] == [session.pk]
    assert [i["id"] for i in export["interactions"]] == [chat.pk]


def test_the_admin_lists_purges_read_only(administrator, site):
    ended_session(site, days_ago=400)
    retention_purge(now=NOW)
    client = Client()
    client.force_login(administrator)
    purge = Purge.objects.get()
    assert "Shop" in client.get("/admin/sessions_app/purge/").content.decode()
    page = client.get(f"/admin/sessions_app/purge/{purge.pk}/change/").content.decode()
    assert PurgedSession.objects.get().code in page
    assert client.post(f"/admin/sessions_app/purge/{purge.pk}/delete/").status_code == 403
