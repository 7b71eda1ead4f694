"""Who may do what: every attempt outside one's role is refused clearly, and nothing changes.

The matrix, row by row (docs/security.md, "Who may do what"). Cells proven elsewhere are only
referenced here:
- a second agent's socket on a joined session: test_consumers.py::test_a_second_agent_is_refused...
- anonymous users and supervisors on the agent socket (waiting session): test_consumers.py
- another agent commanding the page: test_write_mode.py::test_only_the_sessions_agent_can_command...
- another agent's chat (accept, message) and non-agents on the inbox: test_chat.py
- calls reported for another agent: test_chat.py::test_calls_cannot_be_reported_for_others...
- foreign-origin session create and no-Origin create: test_api.py
- supervisors listing and ending sessions: test_api.py, test_supervisor.py
- guessing codes: test_limits.py
"""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from cobrowse.asgi import application
from policies.models import Site
from sessions_app import services
from sessions_app.models import CobrowseSession, Interaction
from tests.test_consumers import (
    ORIGIN,
    WORKSPACE_ORIGIN,
    agent_socket,
    connected_pair,
    cookie_for,
    customer_socket,
    new_session,
    refused,
)

pytestmark = pytest.mark.django_db

OTHER_SITE_ORIGIN = "https://other-shop.example.org"
EVIL = "https://evil.example.net"


def state(session: CobrowseSession) -> tuple:
    """What a refusal must leave alone."""
    fresh = CobrowseSession.objects.get(pk=session.pk)
    return (fresh.status, fresh.agent_id, fresh.mode, fresh.end_reason, fresh.customer_channel)


astate = database_sync_to_async(state)


def logged_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


def joined(site, agent) -> CobrowseSession:
    session, _ = services.session_create(site=site)
    return services.session_join(agent=agent, code=session.code)


@pytest.fixture
def member(request):
    """One of the cast by name (async tests cannot create fixtures themselves), or None."""
    return request.getfixturevalue(request.param) if request.param else None


@pytest.fixture
def other_site(db) -> Site:
    return Site.objects.create(name="Other shop", allowed_origins=OTHER_SITE_ORIGIN)


# ---------------------------------------------------------------------------------------------
# The customer's token opens the customer's socket and nothing else
# ---------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_a_customer_token_cannot_open_the_agent_socket(site):
    session, token = await new_session(site)
    before = await astate(session)
    comm = WebsocketCommunicator(
        application,
        f"/ws/agent/{session.code}/?token={token}",
        headers=[(b"origin", WORKSPACE_ORIGIN.encode()), (b"host", b"localhost")],
    )
    frame, code = await refused(comm)
    assert frame["code"] == "not_authenticated" and code == 4401
    assert await astate(session) == before


STAFF_ENDPOINTS = [
    ("get", "/api/v1/sessions/"),
    ("get", "/api/v1/sessions/{code}/"),
    ("post", "/api/v1/sessions/{code}/end/"),
    ("get", "/api/v1/interactions/"),
    ("post", "/api/v1/interactions/"),
    ("get", "/api/v1/sites/"),
    ("post", "/api/v1/sites/"),
    ("get", "/api/v1/masking-rules/"),
]


@pytest.mark.parametrize("scheme", ["Token", "Bearer"])
@pytest.mark.parametrize("method,url", STAFF_ENDPOINTS)
def test_a_customer_token_is_no_credential_for_the_staff_api(site, agent, scheme, method, url):
    session, token = services.session_create(site=site)
    before = state(session)
    response = getattr(Client(), method)(
        url.format(code=session.code),
        data={"agent": "alice", "external_id": "x", "name": "x"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"{scheme} {token}",
    )
    # DRF answers 403 rather than 401: session authentication, listed first, sends no challenge.
    assert response.status_code in (401, 403), response.content
    assert response.json()["detail"] in (
        "Invalid token.",
        "Authentication credentials were not provided.",
    )
    assert state(session) == before
    assert Interaction.objects.count() == 0 and Site.objects.count() == 1


@pytest.mark.django_db(transaction=True)
async def test_the_customer_socket_does_not_take_the_agents_commands(site, agent):
    session, _, customer, agent_ws = await connected_pair(site, agent)
    before = await astate(session)
    for kind in ("click", "input", "navigate", "pointer", "write.request", "end", "join"):
        await customer.send_json_to({"type": kind, "id": 1, "x": 1, "y": 1, "value": "x"})
        frame = await customer.receive_json_from()
        assert frame["type"] == "error" and frame["code"] == "unknown_type"
    # Approving write mode nobody asked for changes nothing (test_write_mode.py has the detail).
    await customer.send_json_to({"type": "write.approve"})
    assert (await customer.receive_json_from())["code"] == "no_request"
    assert await agent_ws.receive_nothing(timeout=0.2)
    assert await astate(session) == before
    await customer.disconnect()
    await agent_ws.disconnect()


# ---------------------------------------------------------------------------------------------
# Agent A and agent B's session
# ---------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_another_agent_cannot_join_a_session_reserved_for_an_agents_chat(
    site, agent, second_agent
):
    @database_sync_to_async
    def chat_linked_session():
        chat, _ = services.chat_start(site=site, name="Ada")
        services.interaction_accept(agent=agent, interaction_id=chat.pk)
        session, _ = services.session_create(site=site)
        services.session_link(session=session, interaction=chat)
        return session

    session = await chat_linked_session()
    before = await astate(session)
    frame, code = await refused(await agent_socket(second_agent, session.code))
    assert frame["code"] == "session_reserved" and code == 4409
    assert await astate(session) == before


@pytest.mark.parametrize("paused", [False, True], ids=["active", "paused"])
def test_another_agent_cannot_end_the_session_through_the_api(site, agent, second_agent, paused):
    session = joined(site, agent)
    if paused:
        services.session_customer_left(session_id=session.pk, channel="")
    before = state(session)
    response = logged_in(second_agent).post(f"/api/v1/sessions/{session.code}/end/")
    # Answered as if the ID did not exist, so that ending is no way to find live IDs.
    assert response.status_code == 404 and response.json()["code"] == "session_not_found"
    assert state(session) == before


def test_another_agent_cannot_end_the_agents_call_and_its_session(site, agent, second_agent):
    call = services.voice_call_start(agent=agent, external_id="call-1")
    session = joined(site, agent)
    before = state(session)
    response = logged_in(second_agent).post(f"/api/v1/interactions/{call.pk}/end/")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    call.refresh_from_db()
    assert call.status == "active" and state(session) == before


def test_another_agent_cannot_see_sessions_through_the_api(site, agent, second_agent):
    session = joined(site, agent)
    client = logged_in(second_agent)
    assert client.get(f"/api/v1/sessions/{session.code}/").status_code == 403
    assert client.get("/api/v1/interactions/").status_code == 403


# ---------------------------------------------------------------------------------------------
# Users without the Agents group: no workspace, no agent socket, no inbox
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["nobody", "supervisor", "administrator"])
def test_users_outside_the_agents_group_get_no_workspace(request, who):
    response = logged_in(request.getfixturevalue(who)).get("/workspace/")
    assert response.status_code == 403
    assert "not in the <em>Agents</em> group" in response.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("member", ["nobody", "supervisor", "administrator"], indirect=True)
async def test_users_outside_the_agents_group_cannot_enter_a_live_session(site, agent, member):
    # Supervisors watch and end; they never control a page, not even a session already running.
    session, _, customer, agent_ws = await connected_pair(site, agent)
    before = await astate(session)
    frame, code = await refused(await agent_socket(member, session.code))
    assert frame["code"] == "not_an_agent" and code == 4403
    assert await astate(session) == before
    assert await customer.receive_nothing(timeout=0.2)  # no "agent joined" for the customer
    await customer.disconnect()
    await agent_ws.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("member", ["supervisor", "administrator", None], indirect=True)
async def test_only_agents_open_the_chat_inbox(member):
    user = member
    headers = [(b"origin", WORKSPACE_ORIGIN.encode()), (b"host", b"localhost")]
    if user is not None:
        headers.append((b"cookie", f"sessionid={await cookie_for(user)}".encode()))
    frame, code = await refused(WebsocketCommunicator(application, "/ws/inbox/", headers=headers))
    expected = ("not_an_agent", 4403) if user else ("not_authenticated", 4401)
    assert (frame["code"], code) == expected


def test_a_user_outside_the_agents_group_cannot_report_a_call_for_themselves(nobody):
    response = logged_in(nobody).post(
        "/api/v1/interactions/",
        {"agent": "nobody", "external_id": "call-9"},
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["code"] == "not_an_agent"
    assert Interaction.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# Anonymous users
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method,url", [*STAFF_ENDPOINTS, ("post", "/api/v1/interactions/1/end/")])
def test_anonymous_users_get_nothing_from_the_staff_api(site, agent, method, url):
    session = joined(site, agent)
    services.voice_call_start(agent=agent, external_id="call-1")
    before = state(session)
    response = getattr(Client(), method)(
        url.format(code=session.code), data={}, content_type="application/json"
    )
    assert response.status_code in (401, 403)
    assert "detail" in response.json() or "message" in response.json()  # a reason, not a blank
    assert state(session) == before
    assert Interaction.objects.get().status == "active"


@pytest.mark.parametrize("url", ["/workspace/", "/supervisor/"])
def test_anonymous_users_are_asked_to_log_in(db, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


# ---------------------------------------------------------------------------------------------
# Ended and expired sessions
# ---------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("member", ["agent", "second_agent"], indirect=True)
async def test_an_ended_session_cannot_be_joined_again(site, agent, member):
    @database_sync_to_async
    def ended_session():
        session = joined(site, agent)
        return services.session_end(session=session, reason="customer_exit")

    session = await ended_session()
    before = await astate(session)
    frame, code = await refused(await agent_socket(member, session.code))
    assert frame["code"] == "session_not_found" and code == 4404
    assert await astate(session) == before


@pytest.mark.django_db(transaction=True)
async def test_an_expired_waiting_session_cannot_be_joined(site, agent):
    @database_sync_to_async
    def stale_session():
        session, _ = services.session_create(site=site)
        CobrowseSession.objects.filter(pk=session.pk).update(
            created=timezone.now() - timedelta(minutes=16)
        )
        return session

    session = await stale_session()
    frame, code = await refused(await agent_socket(agent, session.code))
    assert frame["code"] == "session_not_found" and code == 4404
    status, agent_id, *_, reason, _ = await astate(session)
    assert (status, agent_id, reason) == ("ended", None, "expired")


@pytest.mark.django_db(transaction=True)
async def test_a_session_paused_too_long_cannot_be_rejoined_even_by_its_agent(site, agent):
    @database_sync_to_async
    def long_paused_session():
        session = joined(site, agent)
        services.session_customer_left(session_id=session.pk, channel="")
        CobrowseSession.objects.filter(pk=session.pk).update(
            paused_at=timezone.now() - timedelta(minutes=11)
        )
        return session

    session = await long_paused_session()
    frame, code = await refused(await agent_socket(agent, session.code))
    assert frame["code"] == "session_not_found" and code == 4404
    status, agent_id, *_, reason, _ = await astate(session)
    assert (status, agent_id, reason) == ("ended", agent.pk, "pause_timeout")


@pytest.mark.django_db(transaction=True)
async def test_the_customer_token_of_an_ended_session_no_longer_connects(site, agent):
    session, token = await new_session(site)
    await database_sync_to_async(services.session_end)(session=session, reason="customer_exit")
    before = await astate(session)
    frame, code = await refused(await customer_socket(token))
    assert frame["code"] == "session_not_found" and code == 4404
    assert await astate(session) == before


# ---------------------------------------------------------------------------------------------
# Site keys and origins
# ---------------------------------------------------------------------------------------------


def create(key: str, origin: str):
    return Client().post(
        "/api/v1/sessions/",
        data={"site": key},
        content_type="application/json",
        HTTP_ORIGIN=origin,
    )


@pytest.mark.parametrize(
    "which,origin,status,code",
    [
        ("unknown", ORIGIN, 404, "unknown_site"),
        ("other", ORIGIN, 403, "foreign_origin"),  # a real key, used from another site's page
        ("own", EVIL, 403, "foreign_origin"),
    ],
)
def test_a_session_is_created_only_with_the_sites_key_from_its_origin(
    site, other_site, which, origin, status, code
):
    key = {"unknown": "not-a-key", "other": other_site.key, "own": site.key}[which]
    response = create(key, origin)
    assert response.status_code == status and response.json()["code"] == code
    assert CobrowseSession.objects.count() == 0


@pytest.mark.django_db(transaction=True)
async def test_a_customer_token_is_refused_on_another_sites_page(site, other_site):
    # The origin is some site's (the handshake passes), but not the session's site.
    session, token = await new_session(site)
    before = await astate(session)
    frame, code = await refused(await customer_socket(token, origin=OTHER_SITE_ORIGIN))
    assert frame["code"] == "foreign_origin" and code == 4403
    assert await astate(session) == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("origin", [EVIL, ORIGIN, None], ids=["foreign", "customer-site", "none"])
async def test_the_agent_socket_refuses_pages_not_on_the_workspace_host(site, agent, origin):
    # Cross-site WebSocket hijacking: a page elsewhere, in the agent's logged-in browser.
    session, _ = await new_session(site)
    before = await astate(session)
    headers = [
        (b"host", b"localhost"),
        (b"cookie", f"sessionid={await cookie_for(agent)}".encode()),
    ]
    if origin:
        headers.append((b"origin", origin.encode()))
    comm = WebsocketCommunicator(application, f"/ws/agent/{session.code}/", headers=headers)
    connected, _ = await comm.connect()
    assert not connected  # denied at the handshake
    assert await astate(session) == before


@pytest.mark.django_db(transaction=True)
async def test_the_inbox_socket_refuses_a_foreign_origin(agent):
    headers = [
        (b"origin", EVIL.encode()),
        (b"host", b"localhost"),
        (b"cookie", f"sessionid={await cookie_for(agent)}".encode()),
    ]
    connected, _ = await WebsocketCommunicator(application, "/ws/inbox/", headers=headers).connect()
    assert not connected


# ---------------------------------------------------------------------------------------------
# CSRF on every state-changing view
# ---------------------------------------------------------------------------------------------


def _views(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _views(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


# Where browsers post on their own, without a token, and nothing is read but a short log line.
CSRF_EXEMPT_BY_DESIGN = {"demo/csp-report/"}  # the strict demo page's CSP violation reports


def test_no_html_view_is_exempt_from_csrf(db):
    # DRF views are csrf_exempt at the Django level and enforce CSRF in SessionAuthentication
    # (tested below); everything else must go through the middleware.
    for route, view in _views(get_resolver().url_patterns):
        if route.startswith("api/v1/") or route in CSRF_EXEMPT_BY_DESIGN:
            continue
        assert not getattr(view, "csrf_exempt", False), route


@pytest.mark.parametrize("url", ["/demo/account/", "/demo/checkout/"])
def test_the_demo_shops_forms_need_the_csrf_token(db, url):
    assert Client(enforce_csrf_checks=True).post(url, {"name": "x"}).status_code == 403


def test_logging_in_needs_the_csrf_token(agent):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-pass"})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_logging_out_needs_the_csrf_token(agent):
    client = logged_in(agent, enforce_csrf_checks=True)
    assert client.post("/accounts/logout/").status_code == 403
    assert client.get("/workspace/").status_code == 200  # still logged in


def test_ending_from_the_supervisor_page_needs_the_csrf_token(site, agent, supervisor):
    session = joined(site, agent)
    before = state(session)
    client = logged_in(supervisor, enforce_csrf_checks=True)
    assert client.post(f"/supervisor/{session.code}/end/").status_code == 403
    assert state(session) == before


def test_admin_changes_need_the_csrf_token(site, administrator):
    client = logged_in(administrator, enforce_csrf_checks=True)
    response = client.post(f"/admin/policies/site/{site.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Site.objects.filter(pk=site.pk).exists()


@pytest.mark.parametrize(
    "who,url,body",
    [
        ("agent", "/api/v1/sessions/{code}/end/", {}),
        ("supervisor", "/api/v1/sessions/{code}/end/", {}),
        ("agent", "/api/v1/interactions/", {"agent": "alice", "external_id": "call-2"}),
        ("agent", "/api/v1/interactions/{call}/end/", {}),
        ("administrator", "/api/v1/sites/", {"name": "X", "allowed_origins": EVIL}),
        ("administrator", "/api/v1/masking-rules/", {"site": 1, "selector": "#x"}),
    ],
)
def test_session_authenticated_api_writes_need_the_csrf_token(request, site, agent, who, url, body):
    call = services.voice_call_start(agent=agent, external_id="call-1")
    session = joined(site, agent)
    before = state(session)
    client = logged_in(request.getfixturevalue(who), enforce_csrf_checks=True)
    response = client.post(
        url.format(code=session.code, call=call.pk), body, content_type="application/json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert state(session) == before
    assert Interaction.objects.count() == 1 and Interaction.objects.get().status == "active"
    assert Site.objects.count() == 1
