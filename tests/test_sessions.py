from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from policies.guard import Alert
from policies.models import PrivacyAlert
from sessions_app import services
from sessions_app.models import AgentAction, AuditEntry, CobrowseSession, format_code, hash_token
from sessions_app.services import ServiceError

pytestmark = pytest.mark.django_db


def start(site, url="https://shop.example.com/checkout"):
    return services.session_create(site=site, url=url)


def test_a_new_session_waits_with_a_nine_digit_code_and_a_hashed_token(site):
    session, token = start(site)
    assert session.status == "waiting"
    assert len(session.code) == 9 and session.code.isdigit()
    assert session.customer_token_hash == hash_token(token)
    assert token not in session.customer_token_hash
    assert session.current_url == "https://shop.example.com/checkout"


def test_a_url_outside_the_site_is_not_recorded(site):
    session, _ = start(site, url="https://evil.example.net/")
    assert session.current_url == ""


def test_codes_are_shown_in_groups_of_three():
    assert format_code("123456789") == "123 456 789"


def test_an_agent_joins_by_code_even_typed_with_spaces(site, agent):
    session, _ = start(site)
    spaced = format_code(session.code)
    joined = services.session_join(agent=agent, code=spaced)
    assert joined.pk == session.pk
    assert joined.status == "active"
    assert joined.agent == agent


def test_joining_an_unknown_code_is_refused_clearly(site, agent):
    with pytest.raises(ServiceError) as e:
        services.session_join(agent=agent, code="000000001")
    assert e.value.code == "session_not_found"
    assert "No live co-browse session" in e.value.message


def test_joining_an_ended_session_is_refused(site, agent):
    session, _ = start(site)
    session.end(reason="customer_exit")
    with pytest.raises(ServiceError) as e:
        services.session_join(agent=agent, code=session.code)
    assert e.value.code == "session_not_found"


def test_a_waiting_session_expires_after_fifteen_minutes(site, agent):
    session, _ = start(site)
    CobrowseSession.objects.filter(pk=session.pk).update(
        created=timezone.now() - timedelta(minutes=15, seconds=1)
    )
    with pytest.raises(ServiceError) as e:
        services.session_join(agent=agent, code=session.code)
    assert e.value.code == "session_not_found"
    session.refresh_from_db()
    assert session.status == "ended"
    assert session.end_reason == "expired"


def test_a_second_agent_is_refused(site, agent, second_agent):
    session, _ = start(site)
    services.session_join(agent=agent, code=session.code)
    with pytest.raises(ServiceError) as e:
        services.session_join(agent=second_agent, code=session.code)
    assert e.value.code == "session_taken"
    session.refresh_from_db()
    assert session.agent == agent


def test_an_agent_with_a_live_session_is_told_which_one(site, agent):
    first, _ = start(site)
    second, _ = start(site)
    services.session_join(agent=agent, code=first.code)
    with pytest.raises(ServiceError) as e:
        services.session_join(agent=agent, code=second.code)
    assert e.value.code == "agent_busy"
    assert first.code_display in e.value.message


def test_an_agent_may_rejoin_their_own_session(site, agent):
    session, _ = start(site)
    services.session_join(agent=agent, code=session.code)
    again = services.session_join(agent=agent, code=session.code)
    assert again.pk == session.pk


def test_users_outside_the_agents_group_cannot_join(site, supervisor):
    session, _ = start(site)
    with pytest.raises(ServiceError) as e:
        services.session_join(agent=supervisor, code=session.code)
    assert e.value.code == "not_an_agent"


def test_the_database_allows_one_live_session_per_agent(site, agent):
    first, _ = start(site)
    second, _ = start(site)
    services.session_join(agent=agent, code=first.code)
    second.agent, second.status = agent, "active"
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()


def test_the_database_keeps_codes_unique_among_live_sessions(site):
    first, _ = start(site)
    with pytest.raises(IntegrityError), transaction.atomic():
        CobrowseSession.objects.create(code=first.code, site=site, customer_token_hash="x" * 64)


def test_an_ended_code_may_be_used_again(site):
    first, _ = start(site)
    first.end(reason="customer_exit")
    again = CobrowseSession.objects.create(code=first.code, site=site, customer_token_hash="y" * 64)
    assert again.code == first.code


def test_the_database_refuses_an_active_session_without_an_agent(site):
    session, _ = start(site)
    session.status = "active"
    with pytest.raises(IntegrityError), transaction.atomic():
        session.save()


def test_the_database_refuses_codes_that_are_not_nine_digits(site):
    with pytest.raises(IntegrityError), transaction.atomic():
        CobrowseSession.objects.create(code="12345", site=site, customer_token_hash="z" * 64)


def test_the_customer_leaving_pauses_and_returning_resumes(site, agent):
    session, token = start(site)
    services.session_join(agent=agent, code=session.code)
    services.session_customer_connect(token=token, origin="https://shop.example.com", channel="p1")
    paused = services.session_customer_left(session_id=session.pk, channel="p1")
    assert paused.status == "paused" and paused.paused_at is not None
    resumed = services.session_customer_connect(token=token, origin="https://shop.example.com")
    assert resumed.status == "active" and resumed.paused_at is None


def test_an_old_page_closing_after_the_new_one_connected_does_not_pause(site, agent):
    session, token = start(site)
    services.session_join(agent=agent, code=session.code)
    origin = "https://shop.example.com"
    services.session_customer_connect(token=token, origin=origin, channel="old-page")
    services.session_customer_connect(token=token, origin=origin, channel="new-page")
    assert services.session_customer_left(session_id=session.pk, channel="old-page") is None
    session.refresh_from_db()
    assert session.status == "active"


def test_a_pause_longer_than_ten_minutes_ends_the_session(site, agent):
    session, token = start(site)
    services.session_join(agent=agent, code=session.code)
    services.session_customer_connect(token=token, origin="https://shop.example.com", channel="p")
    services.session_customer_left(session_id=session.pk, channel="p")
    CobrowseSession.objects.filter(pk=session.pk).update(
        paused_at=timezone.now() - timedelta(minutes=10, seconds=1)
    )
    with pytest.raises(ServiceError):
        services.session_customer_connect(token=token, origin="https://shop.example.com")
    session.refresh_from_db()
    assert session.end_reason == "pause_timeout"


def test_the_expiry_sweep_ends_only_stale_sessions(site, agent):
    fresh, _ = start(site)
    stale, _ = start(site)
    CobrowseSession.objects.filter(pk=stale.pk).update(created=timezone.now() - timedelta(hours=1))
    assert services.session_expire_stale() == 1
    fresh.refresh_from_db()
    stale.refresh_from_db()
    assert fresh.status == "waiting" and stale.status == "ended"


def test_the_customer_cannot_connect_from_a_foreign_origin(site):
    _, token = start(site)
    with pytest.raises(ServiceError) as e:
        services.session_customer_connect(token=token, origin="https://evil.example.net")
    assert e.value.code == "foreign_origin"


def test_ending_a_session_records_why(site, agent):
    session, _ = start(site)
    services.session_join(agent=agent, code=session.code)
    ended = services.session_end(session=session, reason="agent_exit")
    assert ended.status == "ended" and ended.end_reason == "agent_exit" and ended.ended_at


# ---------------------------------------------------------------------------------------------
# URLs are kept as origin and path; only the parameters the site names survive
# ---------------------------------------------------------------------------------------------

TOKENED = "https://shop.example.com/checkout/?reset_token=s3cret&page=2#access_token=abc"


def test_a_sessions_url_is_stored_without_query_or_fragment(site):
    session, _ = start(site, url=TOKENED)
    assert session.current_url == "https://shop.example.com/checkout/"
    services.session_record_page(session_id=session.pk, url=TOKENED + "x", width=800, height=600)
    session.refresh_from_db()
    assert session.current_url == "https://shop.example.com/checkout/"


def test_a_site_may_keep_named_query_parameters(site):
    site.allowed_query_params = "page"
    site.save()
    session, _ = start(site, url=TOKENED)
    assert session.current_url == "https://shop.example.com/checkout/?page=2"


def test_agent_actions_and_privacy_alerts_keep_no_query_or_fragment(site, agent):
    session, _ = start(site)
    services.session_join(agent=agent, code=session.code)
    base = {"session_id": session.pk, "agent_id": agent.pk, "node_id": 5, "target": "a"}
    services.agent_actions_record(
        actions=[
            {**base, "kind": "click", "detail": "", "url": TOKENED, "created": timezone.now()},
            {
                **base,
                "kind": "navigate",
                "detail": f"url {TOKENED}",
                "url": TOKENED,
                "created": timezone.now(),
            },
        ]
    )
    services.privacy_alerts_record(
        session_id=session.pk,
        url=TOKENED,
        alerts=[Alert(node_id=5, kind="input_value", selector="#x")],
    )
    stored = [
        *AgentAction.objects.filter(session=session).values_list("url", "detail"),
        *PrivacyAlert.objects.filter(session=session).values_list("url", "selector"),
        *AuditEntry.objects.filter(session=session).values_list("detail", "kind"),
    ]
    assert stored
    for row in stored:
        assert (
            "s3cret" not in str(row) and "access_token" not in str(row) and "page=2" not in str(row)
        )
    assert (
        AgentAction.objects.get(kind="navigate").detail == "url https://shop.example.com/checkout/"
    )
