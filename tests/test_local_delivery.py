"""On Redis, a session whose two sockets reached one worker relays its page without Redis; agent
sockets on other workers still get every frame through the layer, exactly once each."""

import asyncio
import json

import pytest
from channels.layers import get_channel_layer

from cobrowse import metrics
from sessions_app import consumers
from sessions_app.realtime import agent_group, customer_group
from tests.rrweb import change_frame, snapshot_frame
from tests.test_consumers import connected_pair

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


@on_redis
async def test_an_agent_socket_on_another_worker_gets_every_frame_through_the_layer_until_it_leaves(
    site, agent, channel_layer_kind
):
    session, _, customer, agent_ws = await connected_pair(site, agent)
    await page_shown(customer, agent_ws)
    await asyncio.sleep(0.2)  # the first snapshot's copy through Redis has gone by
    layer = get_channel_layer()
    elsewhere = await layer.new_channel()  # an agent socket of another worker, as Redis sees it
    await layer.group_add(agent_group(session.pk), elsewhere)
    await layer.group_send(
        customer_group(session.pk),
        {"type": "agent.joined", "agent": "Alice Agent", "agent_id": agent.pk}
        | {"channel": elsewhere, "worker": "another-worker"},
    )
    assert (await customer.receive_json_from(timeout=5))["type"] == "snapshot.request"
    assert (await customer.receive_json_from(timeout=5))["type"] == "agent.joined"
    await asyncio.sleep(WINDOW + 0.1)
    # The new socket asked for a snapshot: the page again, then a change.
    for frame in (snapshot_frame(2), change_frame(3)):
        await customer.send_json_to(frame)
        await expect_once(agent_ws, frame)  # the socket on this worker: handed over, once
        message = await asyncio.wait_for(layer.receive(elsewhere), 5)
        while message["event"]["type"] != "relay.customer":  # the refusal list comes first
            message = await asyncio.wait_for(layer.receive(elsewhere), 5)
        assert message["type"] == "customer.remote"
        assert message["origin"] == consumers.WORKER_ID
        assert json.loads(message["event"]["text"]) == frame

    await layer.group_discard(agent_group(session.pk), elsewhere)
    await layer.group_send(
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
async def test_an_agent_socket_elsewhere_that_answers_late_gets_a_fresh_snapshot_and_the_page(
    site, agent, channel_layer_kind
):
    session, _, customer, agent_ws = await connected_pair(site, agent)
    await page_shown(customer, agent_ws)
    await asyncio.sleep(WINDOW + 0.2)  # the customer's socket thinks it knows every agent socket
    layer = get_channel_layer()
    elsewhere = await layer.new_channel()
    await layer.group_add(agent_group(session.pk), elsewhere)
    await layer.group_send(
        customer_group(session.pk),
        {"type": "agent.here", "agent": "Alice Agent", "agent_id": agent.pk}
        | {"channel": elsewhere, "worker": "another-worker"},
    )
    request = await customer.receive_json_from(timeout=5)
    assert request == {"type": "snapshot.request", "reason": "agent_found"}
    await customer.send_json_to(snapshot_frame(2))
    await expect_once(agent_ws, snapshot_frame(2))
    message = await asyncio.wait_for(layer.receive(elsewhere), 5)
    while message["event"]["type"] != "relay.customer":
        message = await asyncio.wait_for(layer.receive(elsewhere), 5)
    assert json.loads(message["event"]["text"]) == snapshot_frame(2)
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
