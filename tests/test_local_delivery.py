"""On Redis, a session whose two sockets reached one worker relays its page without Redis; agent
sockets on other workers still get every frame through the layer, exactly once each."""

import asyncio
import json

import pytest
from channels.layers import get_channel_layer

from cobrowse import metrics
from sessions_app import consumers
from sessions_app.realtime import agent_group, customer_group
from tests.rrweb import change_frame, events_frame, page_load, snapshot_frame
from tests.test_consumers import connected_pair
from tests.test_privacy_consumers import CARD, SECRET

pytestmark = [pytest.mark.django_db(transaction=True)]

WINDOW = 0.3  # AGENTS_UNKNOWN_SECONDS, shortened


on_redis = pytest.mark.parametrize(
    "channel_layer_kind", ["redis-pubsub", "redis-core"], indirect=True
)


@pytest.fixture(autouse=True)
def short_window(monkeypatch):
    monkeypatch.setattr(consumers, "AGENTS_UNKNOWN_SECONDS", WINDOW)


def through_layer() -> float:
    return metrics.LAYER_FRAMES._value.get()


async def page_shown(customer, agent_ws) -> None:
    """The page's snapshot (seq 1): what any change frame after it builds on."""
    await customer.send_json_to(snapshot_frame(1))
    assert await agent_ws.receive_json_from(timeout=5) == snapshot_frame(1)


async def expect_once(agent_ws, frame: dict) -> None:
    assert await agent_ws.receive_json_from(timeout=5) == frame
    assert await agent_ws.receive_nothing(timeout=0.3), "the same frame arrived twice"


@on_redis
async def test_once_the_agent_is_known_to_be_on_this_worker_page_frames_skip_the_layer(
    site, agent, channel_layer_kind
):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await page_shown(customer, agent_ws)
    await asyncio.sleep(WINDOW + 0.1)
    before = through_layer()
    for seq in (2, 3, 4):
        await customer.send_json_to(change_frame(seq))
        await expect_once(agent_ws, change_frame(seq))
    assert through_layer() == before
    await customer.disconnect()
    await agent_ws.disconnect()


@on_redis
async def test_a_frame_sent_before_the_customer_knows_where_the_agent_is_arrives_once(
    site, agent, channel_layer_kind, monkeypatch
):
    monkeypatch.setattr(consumers, "AGENTS_UNKNOWN_SECONDS", 30)
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await page_shown(customer, agent_ws)
    before = through_layer()
    await customer.send_json_to(change_frame(2))
    # Handed over directly and sent through Redis too; the agent's socket skips its own copy.
    await expect_once(agent_ws, change_frame(2))
    assert through_layer() > before
    await customer.disconnect()
    await agent_ws.disconnect()


async def socket_elsewhere(session, agent, announced_by: str) -> str:
    """An agent socket of another worker as Redis sees it: in the session's agent group, and
    announced to the customer's consumer (agent.joined, or agent.here: a probe's answer)."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(agent_group(session.pk), channel)
    await layer.group_send(
        customer_group(session.pk),
        {"type": announced_by, "agent": "Alice Agent", "agent_id": agent.pk}
        | {"channel": channel, "worker": "another-worker"},
    )
    return channel


async def received_elsewhere(channel: str) -> list[dict]:
    """The page events Redis carried to that socket, up to and including the next page frame."""
    layer, events = get_channel_layer(), []
    while not events or events[-1]["type"] != "relay.customer":
        message = await asyncio.wait_for(layer.receive(channel), 5)
        assert message["type"] == "customer.remote"
        assert message["origin"] == consumers.WORKER_ID
        events.append(message["event"])
    return events


@on_redis
async def test_an_agent_socket_on_another_worker_gets_every_frame_through_the_layer_until_it_leaves(
    site, agent, channel_layer_kind
):
    session, _, customer, agent_ws = await connected_pair(site, agent)
    await page_shown(customer, agent_ws)
    await asyncio.sleep(0.2)  # the first snapshot's copy through Redis has gone by
    elsewhere = await socket_elsewhere(session, agent, "agent.joined")
    assert (await customer.receive_json_from(timeout=5))["type"] == "snapshot.request"
    assert (await customer.receive_json_from(timeout=5))["type"] == "agent.joined"
    await asyncio.sleep(WINDOW + 0.1)
    # The new socket asked for a snapshot: the page again, then a change.
    for frame in (snapshot_frame(2), change_frame(3)):
        await customer.send_json_to(frame)
        await expect_once(agent_ws, frame)  # the socket on this worker: handed over, once
        assert json.loads((await received_elsewhere(elsewhere))[-1]["text"]) == frame

    await get_channel_layer().group_discard(agent_group(session.pk), elsewhere)
    await get_channel_layer().group_send(
        customer_group(session.pk),
        {"type": "agent.disconnected", "channel": elsewhere, "worker": "another-worker"},
    )
    await asyncio.sleep(WINDOW + 1.2)  # the probe the disconnection starts, and its window
    before = through_layer()
    await customer.send_json_to(change_frame(4))
    await expect_once(agent_ws, change_frame(4))
    assert through_layer() == before
    await customer.disconnect()
    await agent_ws.disconnect()


@on_redis
async def test_a_late_agent_socket_elsewhere_gets_the_scrubbed_page_after_its_refusal_list(
    site, agent, channel_layer_kind
):
    session, _, customer, agent_ws = await connected_pair(site, agent)
    await page_shown(customer, agent_ws)
    await asyncio.sleep(WINDOW + 0.2)  # the customer's socket thinks it knows every agent socket
    elsewhere = await socket_elsewhere(session, agent, "agent.here")
    request = await customer.receive_json_from(timeout=5)
    assert request == {"type": "snapshot.request", "reason": "agent_found"}
    await customer.send_json_to(events_frame(2, page_load(CARD, timestamps=True)))
    here = await agent_ws.receive_from(timeout=5)
    assert SECRET not in here and '"value":"****"' in here
    first, *_, page = await received_elsewhere(elsewhere)
    # What the agent may not touch arrives before the page it belongs to, through Redis too.
    assert first["type"] == "guard.refused" and 10 in {node for node, _ in first["ids"]}
    assert SECRET not in page["text"] and '"value":"****"' in page["text"]
    await customer.disconnect()
    await agent_ws.disconnect()


@pytest.mark.parametrize("channel_layer_kind", ["memory"], indirect=True)
async def test_in_one_embedded_process_nothing_goes_through_the_layer(
    site, agent, channel_layer_kind
):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await page_shown(customer, agent_ws)
    before = through_layer()
    await customer.send_json_to(change_frame(2))
    await expect_once(agent_ws, change_frame(2))
    assert through_layer() == before
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_an_event_for_an_agent_socket_the_browser_just_closed_does_not_end_its_consumer():
    """A beat or a page frame handled after the browser closed the socket but before its
    disconnect message: the send fails inside daphne, and the consumer must go on to its
    disconnect(), which tells the customer the agent left (a crash there left the customer's
    page waiting for an agent who was gone)."""
    from autobahn.exception import Disconnected

    async def closed(message):
        raise Disconnected("Attempt to send on a closed protocol")

    socket = consumers.AgentConsumer()
    socket.base_send = closed
    await socket.send_json({"type": "customer.beat", "t": None})  # raises without the guard
    await socket.send(bytes_data=b"\x78\x9c")
