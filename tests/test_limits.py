"""Abuse limits: guessing session IDs, flooding a socket, too many sessions on one site."""

import asyncio
import time

import pytest
from django.test import Client

from sessions_app import limits, services
from sessions_app.errors import ServiceError
from sessions_app.models import CobrowseSession
from tests.rrweb import change_frame, snapshot_frame
from tests.test_consumers import ORIGIN, agent_socket, connected_pair, reload

WRONG_CODE = "000000001"


def _guess(agent, ip: str = "10.0.0.1", code: str = WRONG_CODE) -> str:
    try:
        services.session_join(agent=agent, code=code, ip=ip)
    except ServiceError as error:
        return error.code
    return "joined"


@pytest.mark.django_db
def test_an_agent_who_guesses_wrong_too_often_is_refused_even_the_right_code(agent, site, settings):
    settings.COBROWSE_JOIN_FAILURES_PER_AGENT = 3
    session, _ = services.session_create(site=site)
    assert [_guess(agent) for _ in range(3)] == ["session_not_found"] * 3
    assert _guess(agent, code=session.code) == "too_many_attempts"
    session.refresh_from_db()
    assert session.status == CobrowseSession.Status.WAITING and session.agent_id is None


@pytest.mark.django_db
def test_the_refusal_says_how_long_to_wait(agent, settings):
    settings.COBROWSE_JOIN_FAILURES_PER_AGENT = 1
    settings.COBROWSE_JOIN_WINDOW = 600
    _guess(agent)
    with pytest.raises(ServiceError) as refused:
        services.session_join(agent=agent, code=WRONG_CODE, ip="10.0.0.1")
    assert refused.value.close_code == 4429 and refused.value.http_status == 429
    assert "Wait 10 minutes" in refused.value.message


@pytest.mark.django_db
def test_one_address_guessing_for_several_agents_is_refused(agent, second_agent, site, settings):
    settings.COBROWSE_JOIN_FAILURES_PER_AGENT = 100
    settings.COBROWSE_JOIN_FAILURES_PER_IP = 4
    session, _ = services.session_create(site=site)
    for user in (agent, second_agent, agent, second_agent):
        assert _guess(user, ip="10.9.9.9") == "session_not_found"
    assert _guess(agent, ip="10.9.9.9", code=session.code) == "too_many_attempts"
    # Another address is not punished for it.
    assert _guess(agent, ip="10.1.1.1", code=session.code) == "joined"


@pytest.mark.django_db
def test_successful_and_busy_joins_do_not_count_as_guesses(agent, second_agent, site, settings):
    settings.COBROWSE_JOIN_FAILURES_PER_AGENT = 1
    session, _ = services.session_create(site=site)
    services.session_join(agent=agent, code=session.code, ip="10.0.0.1")
    for _ in range(3):
        assert _guess(second_agent, code=session.code) == "session_taken"
        assert _guess(agent, code=session.code) == "joined"  # rejoining one's own session


@pytest.mark.django_db
def test_the_count_starts_again_after_the_window(agent, site, settings):
    settings.COBROWSE_JOIN_FAILURES_PER_AGENT = 1
    settings.COBROWSE_JOIN_WINDOW = 1
    _guess(agent)
    assert _guess(agent) == "too_many_attempts"
    time.sleep(1.2)
    session, _ = services.session_create(site=site)
    assert _guess(agent, code=session.code) == "joined"


@pytest.mark.django_db(transaction=True)
async def test_the_agent_socket_refuses_a_guesser_with_close_code_4429(agent, site, settings):
    settings.COBROWSE_JOIN_FAILURES_PER_AGENT = 2
    for _ in range(2):
        ws = await agent_socket(agent, WRONG_CODE)
        await ws.connect()
        assert (await ws.receive_json_from())["code"] == "session_not_found"
        await ws.disconnect()
    ws = await agent_socket(agent, WRONG_CODE)
    await ws.connect()
    frame = await ws.receive_json_from()
    assert frame["code"] == "too_many_attempts"
    assert (await ws.receive_output())["code"] == 4429
    await ws.disconnect()


@pytest.mark.django_db
def test_ended_codes_are_not_handed_out_again(site, monkeypatch):
    first, _ = services.session_create(site=site)
    services.session_end(session=first, reason=CobrowseSession.EndReason.CUSTOMER_EXIT)
    draws = iter([first.code, first.code, "123456789"])
    monkeypatch.setattr(services, "_new_code", lambda: next(draws))
    second, _ = services.session_create(site=site)
    assert second.code == "123456789"


@pytest.mark.django_db
def test_a_site_at_its_live_session_cap_refuses_new_sessions_clearly(site, settings):
    settings.COBROWSE_MAX_LIVE_SESSIONS_PER_SITE = 2
    services.session_create(site=site)
    services.session_create(site=site)
    response = Client().post(
        "/api/v1/sessions/",
        {"site": site.key, "url": ORIGIN + "/"},
        content_type="application/json",
        HTTP_ORIGIN=ORIGIN,
    )
    assert response.status_code == 429
    assert response.json()["code"] == "site_busy"
    assert "try again" in response.json()["message"]
    assert CobrowseSession.objects.filter(site=site).count() == 2


@pytest.mark.django_db
def test_ended_sessions_do_not_count_against_the_cap(site, settings):
    settings.COBROWSE_MAX_LIVE_SESSIONS_PER_SITE = 1
    first, _ = services.session_create(site=site)
    services.session_end(session=first, reason=CobrowseSession.EndReason.CUSTOMER_EXIT)
    second, _ = services.session_create(site=site)
    assert second.is_live


@pytest.mark.django_db(transaction=True)
async def test_a_flooding_customer_is_told_and_the_session_resyncs_afterwards(
    site, agent, settings
):
    settings.COBROWSE_MAX_FRAMES_PER_SECOND = 5
    settings.COBROWSE_FRAME_BURST = 5
    session, _, customer, agent_ws = await connected_pair(site, agent)
    for _ in range(30):
        await customer.send_json_to({"type": "ping"})
    replies = []
    while not await customer.receive_nothing(timeout=0.2):
        replies.append(await customer.receive_json_from())
    assert sum(1 for r in replies if r["type"] == "pong") <= 6
    limited = [r for r in replies if r.get("code") == "rate_limited"]
    assert len(limited) == 1, "one warning a second, not one per dropped frame"
    assert "COBROWSE_MAX_FRAMES_PER_SECOND" in limited[0]["message"]
    # After a pause the same socket works again: a snapshot and a change reach the agent.
    await asyncio.sleep(1.0)
    await customer.send_json_to(snapshot_frame(500))
    await customer.send_json_to(change_frame(501))
    seqs = []
    while len(seqs) < 2:
        frame = await agent_ws.receive_json_from(timeout=3)
        if frame.get("type") == "events":
            seqs.append(frame["seq"])
    assert seqs == [500, 501]
    assert (await reload(session)).status == CobrowseSession.Status.ACTIVE
    await customer.disconnect()
    await agent_ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_flooding_agent_is_told_and_its_pointer_works_again_later(site, agent, settings):
    settings.COBROWSE_MAX_FRAMES_PER_SECOND = 5
    settings.COBROWSE_FRAME_BURST = 5
    _, _, customer, agent_ws = await connected_pair(site, agent)
    for i in range(30):
        await agent_ws.send_json_to({"type": "pointer", "x": i, "y": i})
    pointers = []
    while not await customer.receive_nothing(timeout=0.2):
        frame = await customer.receive_json_from()
        if frame["type"] == "agent.pointer":
            pointers.append(frame)
    assert 1 <= len(pointers) <= 6
    replies = []
    while not await agent_ws.receive_nothing(timeout=0.2):
        replies.append(await agent_ws.receive_json_from())
    assert [r["code"] for r in replies if r["type"] == "error"] == ["rate_limited"]
    await asyncio.sleep(1.0)
    await agent_ws.send_json_to({"type": "pointer", "x": 7, "y": 8})
    while True:
        frame = await customer.receive_json_from(timeout=3)
        if frame["type"] == "agent.pointer":
            assert (frame["x"], frame["y"]) == (7, 8)
            break
    await customer.disconnect()
    await agent_ws.disconnect()


# ---------------------------------------------------------------------------------------------
# Ending a session by its ID: no oracle, and the same limits as joining
# ---------------------------------------------------------------------------------------------


def _end(user, code: str, **headers):
    client = Client()
    client.force_login(user)
    return client.post(f"/api/v1/sessions/{code}/end/", **headers)


@pytest.mark.django_db
def test_ending_someone_elses_session_looks_exactly_like_an_unknown_id(agent, second_agent, site):
    session, _ = services.session_create(site=site)
    services.session_join(agent=agent, code=session.code)
    waiting, _ = services.session_create(site=site)
    foreign = _end(second_agent, session.code)
    unassigned = _end(second_agent, waiting.code)
    unknown = _end(second_agent, WRONG_CODE)
    assert foreign.status_code == unassigned.status_code == unknown.status_code == 404
    assert foreign.content == unassigned.content == unknown.content
    session.refresh_from_db()
    assert session.status == CobrowseSession.Status.ACTIVE


@pytest.mark.django_db
def test_wrong_ends_count_towards_the_join_limit(agent, second_agent, site, settings):
    settings.COBROWSE_JOIN_FAILURES_PER_AGENT = 3
    session, _ = services.session_create(site=site)
    services.session_join(agent=agent, code=session.code)
    assert _end(second_agent, WRONG_CODE).status_code == 404
    assert _end(second_agent, session.code).status_code == 404
    assert _guess(second_agent) == "session_not_found"  # a wrong join: the third failure
    refused = _end(second_agent, session.code)
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_attempts"
    assert _end(second_agent, WRONG_CODE).status_code == 429
    assert _guess(second_agent, code=session.code) == "too_many_attempts"  # and joins too
    session.refresh_from_db()
    assert session.status == CobrowseSession.Status.ACTIVE


@pytest.mark.django_db
def test_wrong_ends_count_per_address_too(agent, second_agent, site, settings):
    settings.COBROWSE_JOIN_FAILURES_PER_AGENT = 100
    settings.COBROWSE_JOIN_FAILURES_PER_IP = 2
    for user in (agent, second_agent):
        assert _end(user, WRONG_CODE, REMOTE_ADDR="10.7.7.7").status_code == 404
    assert _end(agent, WRONG_CODE, REMOTE_ADDR="10.7.7.7").status_code == 429
    assert _guess(second_agent, ip="10.7.7.7") == "too_many_attempts"
    assert _end(agent, WRONG_CODE, REMOTE_ADDR="10.8.8.8").status_code == 404


@pytest.mark.django_db
def test_the_sessions_agent_and_supervisors_end_it_whatever_the_count(
    agent, second_agent, supervisor, site, settings
):
    settings.COBROWSE_JOIN_FAILURES_PER_AGENT = 1
    settings.COBROWSE_JOIN_FAILURES_PER_IP = 1
    first, _ = services.session_create(site=site)
    services.session_join(agent=agent, code=first.code)
    second, _ = services.session_create(site=site)
    _end(second_agent, WRONG_CODE)  # the address is over its limit now
    assert _end(agent, first.code).json()["end_reason"] == "agent_exit"
    assert _end(supervisor, second.code).json()["end_reason"] == "ended_by_staff"
    assert _end(supervisor, WRONG_CODE).status_code == 404  # unknown is unknown, to them too


# ---------------------------------------------------------------------------------------------
# The client's address: what the trusted proxy saw, not what the client wrote
# ---------------------------------------------------------------------------------------------


def _scope(peer: str | None, *forwarded: str) -> dict:
    return {
        "client": [peer, 5000] if peer else None,
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


@pytest.mark.parametrize(
    "trusted,peer,forwarded,address",
    [
        (0, "10.0.0.5", ["6.6.6.6"], "10.0.0.5"),  # no proxy: the header is the client's say
        (1, "127.0.0.1", ["6.6.6.6, 203.0.113.7"], "203.0.113.7"),
        (1, "127.0.0.1", ["6.6.6.6", "203.0.113.7"], "203.0.113.7"),  # two header lines
        (1, "127.0.0.1", ["203.0.113.7"], "203.0.113.7"),
        (2, "127.0.0.1", ["6.6.6.6, 203.0.113.7, 10.1.1.1"], "203.0.113.7"),
        (2, "127.0.0.1", ["203.0.113.7"], "127.0.0.1"),  # did not pass both proxies
        (1, "127.0.0.1", [], "127.0.0.1"),  # straight to daphne
        (1, "127.0.0.1", ["6.6.6.6, not-an-address"], "127.0.0.1"),
        (1, "127.0.0.1", ["2001:DB8::1"], "2001:db8::1"),
        (0, None, [], None),
    ],
)
def test_the_client_address_is_the_one_the_trusted_proxy_added(
    settings, trusted, peer, forwarded, address
):
    settings.COBROWSE_TRUSTED_PROXIES = trusted
    assert limits.client_address(_scope(peer, *forwarded)) == address


def test_http_requests_are_read_the_same_way(settings, rf):
    request = rf.post("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.COBROWSE_TRUSTED_PROXIES = 0
    assert limits.client_address(request) == "127.0.0.1"
    settings.COBROWSE_TRUSTED_PROXIES = 1
    assert limits.client_address(request) == "203.0.113.7"


@pytest.mark.django_db(transaction=True)
async def test_a_forged_forwarded_for_does_not_escape_the_address_limit(
    agent, second_agent, settings
):
    settings.COBROWSE_TRUSTED_PROXIES = 1
    settings.COBROWSE_JOIN_FAILURES_PER_AGENT = 100
    settings.COBROWSE_JOIN_FAILURES_PER_IP = 2
    for user, forged in ((agent, "1.1.1.1"), (second_agent, "2.2.2.2"), (agent, "3.3.3.3")):
        ws = await agent_socket(user, WRONG_CODE)
        # What daphne --proxy-headers puts here: the left-most entry, which the client wrote.
        ws.scope["client"] = [forged, 0]
        ws.scope["headers"].append((b"x-forwarded-for", f"{forged}, 203.0.113.7".encode()))
        await ws.connect()
        frame = await ws.receive_json_from()
        await ws.disconnect()
    assert frame["code"] == "too_many_attempts"
