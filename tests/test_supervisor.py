"""The supervisor page: live sessions with their agent, state and mode, and the right to end one."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from sessions_app import services
from sessions_app.models import CobrowseSession, Interaction
from tests.test_consumers import connected_pair

pytestmark = pytest.mark.django_db


def logged_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def joined_session(site, agent) -> CobrowseSession:
    session, _ = services.session_create(site=site)
    return services.session_join(agent=agent, code=session.code)


def test_it_lists_live_sessions_with_their_agent_state_and_mode(site, agent, supervisor):
    active = joined_session(site, agent)
    waiting, _ = services.session_create(site=site)
    ended, _ = services.session_create(site=site)
    services.session_end(session=ended, reason="customer_exit")
    response = logged_in(supervisor).get("/supervisor/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="supervisor-sessions"' in html
    for live in (active, waiting):
        assert live.code_display in html
        assert f'data-testid="end-session-{live.code}"' in html
    assert ended.code_display not in html
    assert "alice" in html and ">active<" in html and ">waiting<" in html and ">pointer<" in html
    assert f"v{active.policy_version}" in html


def test_it_shows_the_chat_or_call_a_session_belongs_to(site, agent, supervisor):
    call = services.voice_call_start(agent=agent, external_id="call-1", customer_name="Carol")
    session = joined_session(site, agent)
    assert session.interaction_id == call.pk
    html = logged_in(supervisor).get("/supervisor/").content.decode()
    assert f"voice #{call.pk}" in html


def test_administrators_see_the_page_too(site, administrator):
    services.session_create(site=site)
    assert logged_in(administrator).get("/supervisor/").status_code == 200


def test_it_sends_the_strict_content_security_policy_and_no_inline_script(supervisor):
    response = logged_in(supervisor).get("/supervisor/")
    directives = dict(
        d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";")
    )
    assert directives["script-src"] == "'self'"
    assert '<script src="/static/cobrowse/supervisor.js"></script>' in response.content.decode()
    assert "<script>" not in response.content.decode()


def test_the_workspace_header_links_supervisors_to_the_page(agent, supervisor):
    agent.groups.add(*supervisor.groups.all())  # an agent who also supervises
    assert 'href="/supervisor/"' in logged_in(agent).get("/workspace/").content.decode()


def test_the_workspace_header_has_no_link_for_plain_agents(agent):
    assert 'href="/supervisor/"' not in logged_in(agent).get("/workspace/").content.decode()


def test_the_home_page_links_to_the_page(db):
    assert 'href="/supervisor/"' in Client().get("/").content.decode()


@pytest.mark.parametrize("who", ["agent", "nobody"])
def test_users_who_do_not_supervise_get_a_clear_403(request, who, site):
    session, _ = services.session_create(site=site)
    response = logged_in(request.getfixturevalue(who)).get("/supervisor/")
    assert response.status_code == 403
    assert "not in the <em>Supervisors</em> group" in response.content.decode()
    assert session.code_display not in response.content.decode()


def test_anonymous_users_are_sent_to_log_in(db):
    response = Client().get("/supervisor/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/supervisor/"


def test_end_ends_the_session_as_ended_by_staff(site, agent, supervisor):
    session = joined_session(site, agent)
    response = logged_in(supervisor).post(f"/supervisor/{session.code}/end/", follow=True)
    assert response.redirect_chain == [("/supervisor/", 302)]
    assert f"Session {session.code_display} ended" in response.content.decode()
    session.refresh_from_db()
    assert session.status == "ended" and session.end_reason == "ended_by_staff"


def test_ending_an_already_ended_session_says_so_and_changes_nothing(site, agent, supervisor):
    session = joined_session(site, agent)
    services.session_end(session=session, reason="agent_exit")
    response = logged_in(supervisor).post(f"/supervisor/{session.code}/end/", follow=True)
    assert "already ended" in response.content.decode()
    session.refresh_from_db()
    assert session.end_reason == "agent_exit"


@pytest.mark.parametrize("who", ["agent", "second_agent", "nobody"])
def test_users_who_do_not_supervise_cannot_end_a_session(request, who, site, agent):
    session = joined_session(site, agent)
    response = logged_in(request.getfixturevalue(who)).post(f"/supervisor/{session.code}/end/")
    assert response.status_code == 403
    session.refresh_from_db()
    assert session.status == "active" and session.agent == agent


def test_anonymous_users_cannot_end_a_session(site, agent):
    session = joined_session(site, agent)
    response = Client().post(f"/supervisor/{session.code}/end/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    session.refresh_from_db()
    assert session.status == "active"


def test_end_needs_the_csrf_token(site, agent, supervisor):
    session = joined_session(site, agent)
    client = logged_in(supervisor, enforce_csrf_checks=True)
    assert client.post(f"/supervisor/{session.code}/end/").status_code == 403
    session.refresh_from_db()
    assert session.status == "active"
    # With the token the page's form carries, the same request goes through.
    client.get("/supervisor/")
    token = client.cookies["csrftoken"].value
    response = client.post(f"/supervisor/{session.code}/end/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == "ended"


def test_end_is_a_post_only(site, agent, supervisor):
    session = joined_session(site, agent)
    assert logged_in(supervisor).get(f"/supervisor/{session.code}/end/").status_code == 405
    session.refresh_from_db()
    assert session.status == "active"


def test_the_sessions_api_lists_only_live_sessions_for_the_page(site, agent, supervisor):
    live = joined_session(site, agent)
    ended, _ = services.session_create(site=site)
    services.session_end(session=ended, reason="customer_exit")
    rows = logged_in(supervisor).get("/api/v1/sessions/?status=waiting,active,paused").json()
    assert [row["code"] for row in rows] == [live.code]
    assert rows[0]["policy_version"] == live.policy_version
    assert rows[0]["interaction_channel"] is None


@pytest.mark.django_db(transaction=True)
async def test_the_customer_and_the_agent_are_told_when_a_supervisor_ends_it(
    site, agent, supervisor
):
    session, _, customer, agent_ws = await connected_pair(site, agent)

    @database_sync_to_async
    def end_from_the_page():
        return logged_in(supervisor).post(f"/supervisor/{session.code}/end/")

    assert (await end_from_the_page()).status_code == 302
    for ws in (customer, agent_ws):
        assert await ws.receive_json_from() == {
            "type": "ended",
            "reason": "ended_by_staff",
            "message": "A supervisor ended the session.",
        }
        assert (await ws.receive_output())["code"] == 4000


def test_interactions_of_ended_sessions_go_on(site, agent, supervisor):
    call = services.voice_call_start(agent=agent, external_id="call-2")
    session = joined_session(site, agent)
    logged_in(supervisor).post(f"/supervisor/{session.code}/end/")
    call.refresh_from_db()
    assert call.status == Interaction.Status.ACTIVE


def test_a_session_past_its_waiting_time_is_ended_rather_than_listed(site, supervisor, settings):
    stale, _ = services.session_create(site=site)
    fresh, _ = services.session_create(site=site)
    CobrowseSession.objects.filter(pk=stale.pk).update(
        created=stale.created - timedelta(seconds=settings.COBROWSE_WAITING_TIMEOUT + 5)
    )
    html = logged_in(supervisor).get("/supervisor/").content.decode()
    assert fresh.code_display in html and stale.code_display not in html
    stale.refresh_from_db()
    assert stale.end_reason == "expired"
    listed = logged_in(supervisor).get("/api/v1/sessions/?status=waiting,active,paused").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [row["code"] for row in rows] == [fresh.code]
