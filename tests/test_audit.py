"""The tamper-evident audit log: every session event in a hash chain that a command verifies."""

import threading
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core.management import ManagementUtility, call_command
from django.db import connection
from django.db.models import ProtectedError
from django.test import Client
from django.utils import timezone

from policies.guard import Alert
from sessions_app import services
from sessions_app.audit import audit_append
from sessions_app.models import AuditEntry, CobrowseSession
from tests.test_write_mode import in_write_mode

ORIGIN = "https://shop.example.com"
SECRET = "Grace Hopper 4111"

pytestmark = pytest.mark.django_db


def kinds(session) -> list[str]:
    return list(AuditEntry.objects.chain(session.pk).values_list("kind", flat=True))


def a_full_session(site, agent) -> CobrowseSession:
    """Created, joined, write mode, two actions, an alert, paused, resumed, ended by the agent."""
    session, token = services.session_create(site=site, url=ORIGIN + "/checkout?coupon=XYZ")
    services.session_customer_connect(token=token, origin=ORIGIN, channel="page-1")
    services.session_join(agent=agent, code=session.code)
    services.session_set_mode(session_id=session.pk, mode="write", agent_id=agent.pk, by="customer")
    services.agent_actions_record(
        actions=[
            {
                "session_id": session.pk,
                "agent_id": agent.pk,
                "kind": "input",
                "node_id": 10,
                "target": "input#name",
                "detail": f"{len(SECRET)} characters",
                "url": ORIGIN + "/checkout",
                "created": timezone.now(),
            },
            {
                "session_id": session.pk,
                "agent_id": agent.pk,
                "kind": "click",
                "node_id": 12,
                "target": "button#pay",
                "detail": "",
                "url": ORIGIN + "/checkout",
                "created": timezone.now(),
            },
        ]
    )
    services.privacy_alerts_record(
        session_id=session.pk,
        url=ORIGIN + "/checkout",
        alerts=[Alert(node_id=11, kind="input_value", selector="#card")],
    )
    services.session_customer_left(session_id=session.pk, channel="page-1")
    services.session_customer_connect(token=token, origin=ORIGIN, channel="page-2")
    services.session_end(session=session, reason=CobrowseSession.EndReason.AGENT_EXIT)
    return session


def test_a_sessions_lifecycle_leaves_a_chain_that_verifies(site, agent):
    session = a_full_session(site, agent)
    assert kinds(session) == [
        "created",
        "customer_connected",
        "joined",
        "mode",
        "action",
        "action",
        "privacy_alert",
        "paused",
        "resumed",
        "ended",
    ]
    entries = list(AuditEntry.objects.chain(session.pk))
    assert [e.seq for e in entries] == list(range(1, 11))
    assert entries[0].prev_hash == "0" * 64
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert AuditEntry.objects.first_broken(session.pk) is None


def test_it_records_who_did_what_and_the_policy_version(site, agent):
    session = a_full_session(site, agent)
    entries = {e.seq: e for e in AuditEntry.objects.chain(session.pk)}
    created = entries[1]
    assert created.actor == "customer"
    assert created.detail["policy_version"] == session.policy_version
    # The page, without its query string (which may carry tokens or personal data).
    assert created.detail["page"] == ORIGIN + "/checkout"
    assert entries[3].actor == "agent:alice"
    assert entries[4].detail == {"mode": "write", "by": "customer"}
    assert entries[5].actor == "agent:alice"
    assert entries[5].detail["target"] == "input#name"
    assert entries[5].detail["value"] == f"{len(SECRET)} characters"
    assert entries[7].detail["alerts"] == [
        {"node_id": 11, "kind": "input_value", "selector": "#card"}
    ]
    assert entries[10].detail == {"reason": "agent_exit"} and entries[10].actor == "agent:alice"


def test_it_detects_an_edited_entry(site, agent):
    session = a_full_session(site, agent)
    AuditEntry.objects.filter(session=session, seq=4).update(
        detail={"mode": "write", "by": "agent"}
    )
    broken = AuditEntry.objects.first_broken(session.pk)
    assert broken.seq == 4
    assert "edited" in broken.problem_text


def test_it_detects_an_edited_entry_whose_hash_was_recomputed(site, agent):
    session = a_full_session(site, agent)
    entry = AuditEntry.objects.get(session=session, seq=4)
    entry.actor = "agent:bob"  # blame someone else, and make the entry's own hash fit again
    AuditEntry.objects.filter(pk=entry.pk).update(actor=entry.actor, hash=entry.compute_hash())
    broken = AuditEntry.objects.first_broken(session.pk)
    assert broken.seq == 5  # the next link still points at the original
    assert "prev_hash" in broken.problem_text


def test_it_detects_a_deleted_middle_entry(site, agent):
    session = a_full_session(site, agent)
    AuditEntry.objects.filter(session=session, seq=5).delete()
    broken = AuditEntry.objects.first_broken(session.pk)
    assert broken.seq == 6
    assert "missing" in broken.problem_text


def test_a_session_with_an_audit_trail_cannot_be_deleted(site):
    session, _ = services.session_create(site=site)
    with pytest.raises(ProtectedError):
        session.delete()


def test_a_rejoin_and_an_expiry_are_recorded(site, agent, settings):
    session, _ = services.session_create(site=site)
    services.session_join(agent=agent, code=session.code)
    services.session_join(agent=agent, code=session.code)
    waiting, _ = services.session_create(site=site)
    CobrowseSession.objects.filter(pk=waiting.pk).update(
        created=timezone.now() - timedelta(seconds=settings.COBROWSE_WAITING_TIMEOUT + 1)
    )
    services.session_expire_stale()
    assert kinds(session) == ["created", "joined", "rejoined"]
    ended = AuditEntry.objects.chain(waiting.pk).last()
    assert (ended.kind, ended.actor, ended.detail) == ("ended", "system", {"reason": "expired"})


def test_a_session_ended_by_staff_names_them(site, agent, supervisor):
    session, _ = services.session_create(site=site)
    services.session_join(agent=agent, code=session.code)
    client = Client()
    client.force_login(supervisor)
    response = client.post(f"/api/v1/sessions/{session.code}/end/")
    assert response.status_code == 200
    ended = AuditEntry.objects.chain(session.pk).last()
    assert (ended.kind, ended.actor) == ("ended", "staff:sam")
    assert ended.detail == {"reason": "ended_by_staff"}


def test_the_command_prints_ok_with_the_entry_count(site, agent, capsys):
    session = a_full_session(site, agent)
    call_command("verify_audit", session.code_display)
    out = capsys.readouterr().out
    assert f"Session {session.code_display} (id {session.pk}): OK, 10 entries" in out
    last = AuditEntry.objects.chain(session.pk).last()
    assert f"latest hash {last.hash}" in out
    call_command("verify_audit", str(session.pk))
    assert "OK, 10 entries" in capsys.readouterr().out


# ManagementUtility closes the database connections as manage.py would: these run outside a
# test transaction.
@pytest.mark.django_db(transaction=True)
def test_the_command_exits_1_naming_the_session_and_seq_of_the_first_broken_entry(
    site, agent, capsys
):
    session = a_full_session(site, agent)
    AuditEntry.objects.filter(session=session, seq=3).update(actor="agent:bob")
    with pytest.raises(SystemExit) as exit:
        ManagementUtility(["manage.py", "verify_audit", session.code]).execute()
    assert exit.value.code == 1
    err = capsys.readouterr().err
    assert f"Session {session.code_display} (id {session.pk}): BROKEN at seq 3 (joined" in err
    assert "1 of 1 audit chain broken." in err


@pytest.mark.django_db(transaction=True)
def test_the_command_checks_every_session_with_all(site, agent, capsys):
    good = a_full_session(site, agent)
    bad, _ = services.session_create(site=site)
    services.session_end(session=bad, reason="customer_exit")
    call_command("verify_audit", "--all")
    assert "All 2 audit chains verify." in capsys.readouterr().out
    AuditEntry.objects.filter(session=bad, seq=1).delete()
    with pytest.raises(SystemExit) as exit:
        ManagementUtility(["manage.py", "verify_audit", "--all"]).execute()
    assert exit.value.code == 1
    captured = capsys.readouterr()
    assert f"(id {good.pk}): OK, 10 entries" in captured.out
    assert f"(id {bad.pk}): BROKEN at seq 2 (ended" in captured.err
    assert "expected seq 1" in captured.err


@pytest.mark.django_db(transaction=True)
def test_the_command_refuses_an_unknown_session(capsys):
    with pytest.raises(SystemExit) as exit:
        ManagementUtility(["manage.py", "verify_audit", "999999"]).execute()
    assert exit.value.code == 1
    assert "No session has the ID or id '999999'" in capsys.readouterr().err


def test_an_input_detail_that_is_not_a_length_is_withheld(site, agent):
    session, _ = services.session_create(site=site)
    services.agent_actions_record(
        actions=[
            {
                "session_id": session.pk,
                "agent_id": agent.pk,
                "kind": "input",
                "node_id": 10,
                "detail": SECRET,  # a caller's mistake must not reach the audit log
                "url": ORIGIN + "/account?email=grace@example.com",
            }
        ]
    )
    entry = AuditEntry.objects.chain(session.pk).last()
    assert entry.detail["value"] == "withheld"
    assert entry.detail["page"] == ORIGIN + "/account"
    assert SECRET not in str(entry.detail) and "grace@" not in str(entry.detail)


@pytest.mark.django_db(transaction=True)
async def test_the_typed_value_of_an_agent_input_never_appears_in_any_audit_row(site, agent):
    session, _, customer, agent_ws = await in_write_mode(site, agent)
    await agent_ws.send_json_to({"type": "input", "id": 10, "value": SECRET})
    assert (await customer.receive_json_from())["command"]["value"] == SECRET
    await customer.disconnect()  # flushes the consumer's buffered actions
    await agent_ws.disconnect()

    @database_sync_to_async
    def rows():
        # Hashes are hex and times have microseconds: leave them out, or "4111" turns up by
        # chance one run in a few hundred.
        return list(AuditEntry.objects.values("actor", "kind", "detail"))

    everything = repr(await rows())
    assert "write_requested" in everything
    assert f"'value': '{len(SECRET)} characters'" in everything
    assert SECRET not in everything and "Grace" not in everything and "4111" not in everything
    assert await database_sync_to_async(AuditEntry.objects.first_broken)(session.pk) is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_seq_unique_and_the_chain_whole(site):
    session, _ = services.session_create(site=site)
    errors = []

    def append_many(worker: int) -> None:
        try:
            for n in range(10):
                audit_append(
                    session_id=session.pk, kind="action", actor=f"agent:w{worker}", detail={"n": n}
                )
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=append_many, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = list(AuditEntry.objects.chain(session.pk).values_list("seq", flat=True))
    assert seqs == list(range(1, 42))
    assert AuditEntry.objects.first_broken(session.pk) is None


def test_the_admin_lists_entries_read_only_and_shows_whether_a_chain_verifies(
    site, agent, administrator
):
    session = a_full_session(site, agent)
    client = Client()
    client.force_login(administrator)
    assert client.get("/admin/sessions_app/auditentry/").status_code == 200
    assert client.get("/admin/sessions_app/auditentry/add/").status_code == 403
    entry = AuditEntry.objects.chain(session.pk).first()
    page = client.get(f"/admin/sessions_app/auditentry/{entry.pk}/change/")
    assert page.status_code == 200 and b'name="actor"' not in page.content
    assert client.post(f"/admin/sessions_app/auditentry/{entry.pk}/delete/").status_code == 403
    change = f"/admin/sessions_app/cobrowsesession/{session.pk}/change/"
    assert b"Verifies" in client.get(change).content
    AuditEntry.objects.filter(pk=entry.pk).update(actor="system")
    assert b"Broken at seq 1" in client.get(change).content
