"""Counts in what people read (audit log, admin, commands) are plain English: "1 character"."""

import pytest
from django.core.management import ManagementUtility, call_command
from django.test import Client
from django.utils import timezone

from sessions_app import services
from sessions_app.audit import _SAFE_INPUT_DETAIL, action_detail, input_detail, typed_length
from sessions_app.models import AgentAction, AuditEntry, CobrowseSession

ORIGIN = "https://shop.example.com"


def test_a_typed_length_is_worded_in_the_singular_or_the_plural():
    assert typed_length(0) == "0 characters"
    assert typed_length(1) == "1 character"
    assert typed_length(2) == "2 characters"
    assert typed_length(16384) == "16384 characters"


def test_the_allow_list_accepts_every_length_as_worded_and_the_checkbox_states():
    for count in [*range(0, 20_000), 999_999]:
        assert _SAFE_INPUT_DETAIL.fullmatch(typed_length(count)), count
    assert _SAFE_INPUT_DETAIL.fullmatch("checked")
    assert _SAFE_INPUT_DETAIL.fullmatch("unchecked")


@pytest.mark.parametrize(
    "text",
    [
        "1 characters",  # worded wrongly: reworded before it is checked, never kept as is
        "2 character",
        "007 characters",
        "1234567 characters",
        "12 characters long",
        " 12 characters",
        "12 characters\n",
        "Grace Hopper 4111",
        "4111 1111 1111 1111",
        "checked!",
        "",
    ],
)
def test_the_allow_list_refuses_anything_else(text):
    assert _SAFE_INPUT_DETAIL.fullmatch(text) is None


@pytest.mark.parametrize(
    "written, kept",
    [
        ("1 characters", "1 character"),  # as sessions_app/consumers.py words it today
        ("1 character", "1 character"),
        ("0 characters", "0 characters"),
        ("12 characters", "12 characters"),
        ("2 character", "2 characters"),
        ("checked", "checked"),
        ("unchecked", "unchecked"),
        ("Grace Hopper 4111", "withheld"),
        ("1234567 characters", "withheld"),
        ("12 characters: Grace", "withheld"),
    ],
)
def test_an_input_action_keeps_only_a_length_worded_right_or_a_checkbox_state(written, kept):
    detail = action_detail({"kind": "input", "detail": written, "url": ORIGIN + "/a?x=1"})
    assert detail["value"] == kept
    assert input_detail(written) == (kept if kept != "withheld" else written)


@pytest.mark.django_db
def test_one_typed_character_is_recorded_as_1_character(site, agent):
    session, token = services.session_create(site=site, url=ORIGIN + "/checkout")
    services.session_customer_connect(token=token, origin=ORIGIN, channel="page-1")
    services.session_join(agent=agent, code=session.code)
    action = {
        "session_id": session.pk,
        "agent_id": agent.pk,
        "kind": "input",
        "node_id": 10,
        "target": "input#name",
        "detail": "1 characters",
        "url": ORIGIN + "/checkout",
        "created": timezone.now(),
    }
    services.agent_actions_record(actions=[action, {**action, "detail": "5 characters"}])
    assert list(AgentAction.objects.values_list("detail", flat=True)) == [
        "1 character",
        "5 characters",
    ]
    values = [e.detail["value"] for e in AuditEntry.objects.chain(session.pk) if e.kind == "action"]
    assert values == ["1 character", "5 characters"]
    assert AuditEntry.objects.first_broken(session.pk) is None


@pytest.mark.django_db(transaction=True)
def test_verify_audit_counts_one_chain_in_the_singular(site, capsys):
    session, _ = services.session_create(site=site)
    call_command("verify_audit", "--all")
    assert "The 1 audit chain verifies." in capsys.readouterr().out
    AuditEntry.objects.filter(session=session, seq=1).update(actor="someone else")
    with pytest.raises(SystemExit):
        ManagementUtility(["manage.py", "verify_audit", "--all"]).execute()
    err = capsys.readouterr().err
    assert "1 of 1 audit chain broken." in err and "(s)" not in err


@pytest.mark.django_db
@pytest.mark.parametrize("count, message", [(1, "Ended 1 session."), (2, "Ended 2 sessions.")])
def test_the_admin_says_how_many_sessions_it_ended_in_english(site, administrator, count, message):
    sessions = [services.session_create(site=site)[0] for _ in range(count)]
    client = Client()
    client.force_login(administrator)
    response = client.post(
        "/admin/sessions_app/cobrowsesession/",
        {"action": "end_sessions", "_selected_action": [s.pk for s in sessions]},
        follow=True,
    )
    page = response.content.decode()
    assert message in page and "session(s)" not in page
    assert not CobrowseSession.objects.live().exists()
