"""Chats and calls through the real ASGI app and the REST API."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission, User
from django.test import Client

from cobrowse.asgi import application
from sessions_app import services
from sessions_app.models import ChatMessage, CobrowseSession, Interaction
from tests.test_consumers import ORIGIN, agent_socket, cookie_for, customer_socket, reload

pytestmark = [pytest.mark.django_db(transaction=True)]


async def chat_socket(token: str) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(
        application, f"/ws/chat/?token={token}", headers=[(b"origin", ORIGIN.encode())]
    )
    ok, _ = await comm.connect()
    assert ok
    return comm


async def inbox_socket(user) -> WebsocketCommunicator:
    headers = [
        (b"origin", b"http://localhost"),
        (b"host", b"localhost"),
        (b"cookie", f"sessionid={await cookie_for(user)}".encode()),
    ]
    comm = WebsocketCommunicator(application, "/ws/inbox/", headers=headers)
    ok, _ = await comm.connect()
    assert ok
    return comm


@database_sync_to_async
def start_chat(site, name="Ada"):
    return services.chat_start(site=site, name=name)


@database_sync_to_async
def messages(interaction_id):
    return list(
        ChatMessage.objects.filter(interaction_id=interaction_id).values_list("sender", "text")
    )


async def accepted_chat(site, agent):
    """A customer chatting, accepted by the agent; handshake frames consumed."""
    chat, token = await start_chat(site)
    customer = await chat_socket(token)
    state = await customer.receive_json_from()
    assert state["type"] == "state" and state["interaction"]["status"] == "queued"
    inbox = await inbox_socket(agent)
    state = await inbox.receive_json_from()
    assert [q["id"] for q in state["queued"]] == [chat.pk]
    await inbox.send_json_to({"type": "accept", "id": chat.pk})
    accepted = await inbox.receive_json_from()
    assert accepted["type"] == "interaction" and accepted["interaction"]["status"] == "active"
    joined = await customer.receive_json_from()
    assert joined["message"]["text"] == "Alice Agent joined the chat."
    while (await inbox.receive_json_from())["type"] != "queue":
        pass
    return chat, token, customer, inbox


async def test_a_customer_and_an_agent_exchange_messages_that_are_stored(
    site, agent, channel_layer_kind
):
    chat, _, customer, inbox = await accepted_chat(site, agent)
    await customer.send_json_to({"type": "message", "text": "My order is stuck", "client_id": "c1"})
    for ws in (customer, inbox):
        frame = await ws.receive_json_from()
        assert frame["message"]["text"] == "My order is stuck"
    await inbox.send_json_to(
        {"type": "message", "id": chat.pk, "text": "Let me look", "client_id": "a1"}
    )
    for ws in (customer, inbox):
        assert (await ws.receive_json_from())["message"]["sender"] == "agent"
    assert await messages(chat.pk) == [
        ("system", "Alice Agent joined the chat."),
        ("customer", "My order is stuck"),
        ("agent", "Let me look"),
    ]
    await customer.disconnect()
    await inbox.disconnect()


async def test_a_resent_message_after_a_reconnect_is_stored_once_and_nothing_is_lost(site, agent):
    chat, token, customer, inbox = await accepted_chat(site, agent)
    await customer.send_json_to({"type": "message", "text": "first", "client_id": "m1"})
    await customer.receive_json_from()
    await inbox.receive_json_from()
    await customer.disconnect()
    # The agent writes while the customer is between pages.
    await inbox.send_json_to(
        {"type": "message", "id": chat.pk, "text": "while away", "client_id": "a1"}
    )
    await inbox.receive_json_from()
    again = await chat_socket(token)
    state = await again.receive_json_from()
    assert [m["text"] for m in state["messages"]][-2:] == ["first", "while away"]
    # The widget did not see its message confirmed, so it sends it again: stored once.
    await again.send_json_to({"type": "message", "text": "first", "client_id": "m1"})
    assert (await again.receive_json_from())["message"]["client_id"] == "m1"
    assert [t for s, t in await messages(chat.pk)].count("first") == 1
    assert await inbox.receive_nothing(timeout=0.2)
    await again.disconnect()
    await inbox.disconnect()


async def test_an_agent_handles_several_chats_but_one_cobrowse_session(site, agent):
    _first, _first_token, c1, inbox = await accepted_chat(site, agent)
    second, second_token = await start_chat(site, "Bob")
    c2 = await chat_socket(second_token)
    await c2.receive_json_from()
    await inbox.send_json_to({"type": "accept", "id": second.pk})
    assert (await inbox.receive_json_from())["interaction"]["id"] == second.pk
    session1, _ = await database_sync_to_async(services.session_create)(site=site)
    session2, _ = await database_sync_to_async(services.session_create)(site=site)
    ws1 = await agent_socket(agent, session1.code)
    assert (await ws1.connect())[0]
    assert (await ws1.receive_json_from())["type"] == "state"
    ws2 = await agent_socket(agent, session2.code)
    await ws2.connect()
    assert (await ws2.receive_json_from())["code"] == "agent_busy"
    for ws in (c1, c2, inbox, ws1):
        await ws.disconnect()


async def test_ending_the_chat_ends_its_cobrowse_session_at_once(site, agent, channel_layer_kind):
    chat, _chat_token, customer_chat, inbox = await accepted_chat(site, agent)
    session, token = await database_sync_to_async(services.session_create)(site=site)
    await database_sync_to_async(services.session_link)(session=session, interaction=chat)
    widget = await customer_socket(token)
    await widget.connect()
    await widget.receive_json_from()
    mirror = await agent_socket(agent, session.code)
    await mirror.connect()
    await mirror.receive_json_from()
    await inbox.send_json_to({"type": "end", "id": chat.pk})
    for ws in (widget, mirror):
        frame = await ws.receive_json_from(timeout=3)
        while frame["type"] != "ended":
            frame = await ws.receive_json_from(timeout=3)
        assert frame["reason"] == "interaction_ended"
    while (frame := await customer_chat.receive_json_from())["type"] != "ended":
        pass
    assert frame["message"] == "The agent ended the chat."
    assert (await reload(session)).end_reason == "interaction_ended"
    await inbox.disconnect()


async def test_exiting_cobrowse_leaves_the_chat_going_on(site, agent):
    chat, _, customer_chat, inbox = await accepted_chat(site, agent)
    session, token = await database_sync_to_async(services.session_create)(site=site)
    await database_sync_to_async(services.session_link)(session=session, interaction=chat)
    widget = await customer_socket(token)
    await widget.connect()
    await widget.receive_json_from()
    await widget.send_json_to({"type": "exit"})
    note = await customer_chat.receive_json_from()
    assert note["message"]["text"].endswith("ended. The chat goes on.")
    await customer_chat.send_json_to({"type": "message", "text": "thanks", "client_id": "t"})
    assert (await customer_chat.receive_json_from())["message"]["text"] == "thanks"
    assert (await database_sync_to_async(Interaction.objects.get)(pk=chat.pk)).status == "active"
    await customer_chat.disconnect()
    await inbox.disconnect()


async def test_chat_refusals_are_clear(site, agent, second_agent, nobody):
    chat, _, customer, inbox = await accepted_chat(site, agent)
    other = await inbox_socket(second_agent)
    await other.receive_json_from()
    await other.send_json_to({"type": "accept", "id": chat.pk})
    assert (await other.receive_json_from())["code"] == "chat_taken"
    await other.send_json_to({"type": "message", "id": chat.pk, "text": "hi"})
    assert (await other.receive_json_from())["code"] == "chat_not_found"
    await customer.send_json_to({"type": "message", "text": "   "})
    assert (await customer.receive_json_from())["code"] == "empty_message"
    headers = [
        (b"origin", b"http://localhost"),
        (b"host", b"localhost"),
        (b"cookie", f"sessionid={await cookie_for(nobody)}".encode()),
    ]
    refused = WebsocketCommunicator(application, "/ws/inbox/", headers=headers)
    await refused.connect()
    assert (await refused.receive_json_from())["code"] == "not_an_agent"
    bad = WebsocketCommunicator(
        application, "/ws/chat/?token=nope", headers=[(b"origin", ORIGIN.encode())]
    )
    await bad.connect()
    assert (await bad.receive_json_from())["code"] == "chat_not_found"
    for ws in (customer, inbox, other):
        await ws.disconnect()


# REST: the widget's chat, chat-linked sessions, voice calls for telephony integrations


def test_starting_cobrowse_during_a_chat_links_it_and_tells_the_agent(site, agent):
    chat, token = services.chat_start(site=site, name="Ada")
    services.interaction_accept(agent=agent, interaction_id=chat.pk)
    response = Client().post(
        "/api/v1/sessions/",
        data=json.dumps({"site": site.key, "chat": token}),
        content_type="application/json",
        HTTP_ORIGIN=ORIGIN,
    )
    assert response.status_code == 201
    session = CobrowseSession.objects.get(code=response.json()["code"])
    assert session.interaction == chat
    note = ChatMessage.objects.get(interaction=chat, sender="system", cobrowse_code=session.code)
    assert session.code_display in note.text


def test_the_widget_starts_a_chat_for_its_site_only(site):
    ok = Client().post(
        "/api/v1/chats/",
        data=json.dumps({"site": site.key, "name": "Ada"}),
        content_type="application/json",
        HTTP_ORIGIN=ORIGIN,
    )
    assert ok.status_code == 201 and ok["Access-Control-Allow-Origin"] == ORIGIN
    assert Interaction.objects.get(pk=ok.json()["id"]).status == "queued"
    foreign = Client().post(
        "/api/v1/chats/",
        data=json.dumps({"site": site.key}),
        content_type="application/json",
        HTTP_ORIGIN="https://evil.example",
    )
    assert foreign.status_code == 403


@pytest.fixture
def telephony(db):
    user = User.objects.create_user("telephony")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_interaction", "change_interaction"])
    )
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=user).key


def test_a_telephony_integration_reports_and_ends_a_call_with_a_token(site, agent, telephony):
    auth = {"HTTP_AUTHORIZATION": f"Token {telephony}"}
    created = Client().post(
        "/api/v1/interactions/",
        data=json.dumps({"agent": "alice", "external_id": "call-42", "customer_name": "Ada"}),
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 201
    call = Interaction.objects.get(pk=created.json()["id"])
    assert call.channel == "voice" and call.status == "active" and call.agent == agent
    # The agent joins a customer's co-browse by ID while on the call: it links to the call.
    session, _ = services.session_create(site=site)
    services.session_join(agent=agent, code=session.code)
    session.refresh_from_db()
    assert session.interaction == call
    ended = Client().post(f"/api/v1/interactions/{call.pk}/end/", **auth)
    assert ended.status_code == 200 and ended.json()["ended_sessions"] == 1
    session.refresh_from_db()
    assert session.status == "ended" and session.end_reason == "interaction_ended"
    again = Client().post(f"/api/v1/interactions/{call.pk}/end/", **auth)
    assert again.status_code == 409


def test_calls_cannot_be_reported_for_others_without_the_permission(agent, second_agent):
    client = Client()
    client.force_login(second_agent)
    response = client.post(
        "/api/v1/interactions/",
        data=json.dumps({"agent": "alice", "external_id": "x"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    anonymous = Client().post("/api/v1/interactions/", data="{}", content_type="application/json")
    assert anonymous.status_code in (401, 403)
    assert Interaction.objects.count() == 0


def test_supervisors_list_interactions_with_their_sessions(site, agent, supervisor):
    chat, _ = services.chat_start(site=site)
    services.interaction_accept(agent=agent, interaction_id=chat.pk)
    session, _ = services.session_create(site=site)
    services.session_link(session=session, interaction=chat)
    client = Client()
    client.force_login(supervisor)
    listed = client.get("/api/v1/interactions/").json()
    assert listed[0]["id"] == chat.pk and listed[0]["sessions"][0]["code"] == session.code
    client.force_login(agent)
    assert client.get("/api/v1/interactions/").status_code == 403
