"""Abuse limits: guessing session IDs, flooding a socket, too many sessions on one site."""

import asyncio
import time

import pytest
from django.test import Client

from sessions_app import services
from sessions_app.errors import ServiceError
from sessions_app.models import CobrowseSession
from tests.test_consumers import (
    ORIGIN,
    agent_socket,
    change_frame,
    connected_pair,
    reload,
    snapshot_frame,
)

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
