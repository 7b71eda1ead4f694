"""One customer socket cannot stall the server for the others (issue 13): large frames are parsed
and guarded in worker processes, large frames travel deflated, and a page has a guard budget.

bench/hostile.py measures the other sessions' latency under the same attacks."""

import asyncio
import json
import os
import subprocess
import sys
import zlib

import pytest
from channels.db import database_sync_to_async

from policies.models import PrivacyAlert
from sessions_app.models import CobrowseSession
from tests.rrweb import el, events_frame, mutation, page_load, snapshot_frame, text
from tests.test_consumers import connected_pair, customer_socket, new_session

pytestmark = [pytest.mark.django_db(transaction=True)]

SECRET = "4111-SECRET-9999"
CARD = el(10, "input", {"autocomplete": "cc-number", "value": SECRET})


def rows(count: int, first_id: int = 100) -> list[dict]:
    """Plain rows of text, enough to make a frame of any size."""
    return [
        el(first_id + 2 * i, "p", {"class": "row"}, [text(first_id + 2 * i + 1, f"Row {i}")])
        for i in range(count)
    ]


def deflate(frame: dict) -> bytes:
    return zlib.compress(json.dumps(frame).encode())


async def page_frame(agent_ws) -> dict:
    """The next page frame the agent receives, inflated if it came deflated."""
    while True:
        message = await agent_ws.receive_output(timeout=10)
        if message.get("bytes") is not None:
            return json.loads(zlib.decompress(message["bytes"]))
        data = json.loads(message["text"])
        if data["type"] == "events":
            return data


async def test_a_deflated_page_is_inflated_guarded_and_reaches_the_agent_deflated(site, agent):
    session, _, customer, agent_ws = await connected_pair(site, agent)
    frame = events_frame(1, page_load(CARD, *rows(200), timestamps=True))
    await customer.send_to(bytes_data=deflate(frame))
    message = await agent_ws.receive_output(timeout=10)
    assert message.get("bytes"), "a large page frame reaches the agent deflated"
    assert len(message["bytes"]) < len(json.dumps(frame)) / 4
    relayed = zlib.decompress(message["bytes"]).decode()
    assert SECRET not in relayed and '"value":"****"' in relayed
    assert "Row 199" in relayed
    # The page was recorded (its URL, without the query) and the masked field is refused.
    reloaded = await database_sync_to_async(CobrowseSession.objects.get)(pk=session.pk)
    assert reloaded.current_url.endswith("/checkout/")
    await agent_ws.send_json_to({"type": "spotlight", "id": 10})
    assert (await agent_ws.receive_json_from(timeout=5))["code"] == "restricted"
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_a_deflate_bomb_is_stopped_at_the_page_limit_and_the_session_goes_on(
    site, agent, settings
):
    settings.COBROWSE_MAX_SNAPSHOT_BYTES = 1_000_000
    _, _, customer, agent_ws = await connected_pair(site, agent)
    bomb = zlib.compress(b"[" * 50_000_000, 9)  # 50 MB of brackets in about 50 KB
    assert len(bomb) < 100_000
    await customer.send_to(bytes_data=bomb)
    error = await customer.receive_json_from(timeout=10)
    assert error["code"] == "snapshot_too_large" and "too large" in error["message"]
    assert (await customer.receive_json_from(timeout=5))["type"] == "snapshot.request"
    assert await agent_ws.receive_nothing(timeout=0.3)
    await customer.send_to(bytes_data=deflate(snapshot_frame(1, content="after the bomb")))
    assert "after the bomb" in json.dumps(await page_frame(agent_ws))
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_binary_frames_that_are_not_deflated_json_get_a_clear_error(site, agent):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    for bad in (b"\x00\x01not deflate", zlib.compress(b"\xff\xfe not utf-8"), b"x\x9c"):
        await customer.send_to(bytes_data=bad)
        error = await customer.receive_json_from(timeout=5)
        assert error["code"] == "bad_frame" and "deflated" in error["message"]
        assert (await customer.receive_json_from(timeout=5))["type"] == "snapshot.request"
    await customer.send_json_to(snapshot_frame(1, content="still here"))
    assert "still here" in json.dumps(await page_frame(agent_ws))
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_nothing_is_reassembled_or_inflated_before_an_agent_joins(site, agent):
    session, token = await new_session(site)
    customer = await customer_socket(token)
    assert (await customer.connect(timeout=5))[0]
    await customer.receive_json_from(timeout=5)
    # A first chunk, a large frame and a deflated one before any agent: dropped, unanswered.
    await customer.send_json_to(
        {"type": "chunk", "seq": 1, "part": 0, "last": False, "data": "x" * 300_000}
    )
    await customer.send_to(text_data=json.dumps(events_frame(1, page_load(*rows(4000)))))
    await customer.send_to(bytes_data=zlib.compress(b"[" * 10_000_000))
    assert await customer.receive_nothing(timeout=0.5)
    from tests.test_consumers import agent_socket

    agent_ws = await agent_socket(agent, session.code)
    assert (await agent_ws.connect(timeout=5))[0]
    await agent_ws.receive_json_from(timeout=5)
    assert (await customer.receive_json_from(timeout=5))["type"] == "snapshot.request"
    await customer.receive_json_from(timeout=5)  # agent.joined
    # The chunk sent before the join was not kept: the next part is out of order.
    await customer.send_json_to({"type": "chunk", "seq": 1, "part": 1, "last": True, "data": "}"})
    assert (await customer.receive_json_from(timeout=5))["code"] == "bad_chunk"
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_a_frame_over_the_inline_limit_is_guarded_in_a_worker_with_the_same_rules(
    site, agent, settings
):
    settings.COBROWSE_INLINE_FRAME_BYTES = 2048
    _, _, customer, agent_ws = await connected_pair(site, agent)
    frame = events_frame(1, page_load(CARD, *rows(300), timestamps=True))
    await customer.send_to(text_data=json.dumps(frame))
    relayed = json.dumps(await page_frame(agent_ws))
    assert SECRET not in relayed and "Row 299" in relayed
    alerts = await database_sync_to_async(list)(PrivacyAlert.objects.values_list("kind"))
    assert ("unmasked_attribute:value",) in alerts
    # What the worker learnt of the page is the consumer's now: keystrokes in the card field
    # are masked here, on the event loop, and the field is refused to the agent.
    await customer.send_json_to(
        events_frame(2, [{"type": 3, "data": {"source": 5, "id": 10, "text": SECRET}}])
    )
    typed = json.dumps(await page_frame(agent_ws))
    assert SECRET not in typed and "****" in typed
    await agent_ws.send_json_to({"type": "click", "id": 10, "x": 1, "y": 1})
    assert (await agent_ws.receive_json_from(timeout=5))["code"] == "restricted"
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_a_large_batch_of_changes_is_replaced_by_a_fresh_snapshot(site, agent, settings):
    settings.COBROWSE_INLINE_FRAME_BYTES = 2048
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await customer.send_json_to(snapshot_frame(1))
    await page_frame(agent_ws)
    adds = [{"parentId": 1, "nextId": None, "node": node} for node in rows(300)]
    await customer.send_to(text_data=json.dumps(events_frame(2, [mutation(adds=adds)])))
    request = await customer.receive_json_from(timeout=10)
    assert request == {"type": "snapshot.request", "reason": "large_change"}
    assert await agent_ws.receive_nothing(timeout=0.3)
    await customer.disconnect()
    await agent_ws.disconnect()


def deep_page(body: str) -> str:
    """An events frame of a page whose document holds `body` (JSON text: too deep to encode)."""
    return (
        '{"type":"events","seq":1,"events":[{"type":4,"data":{"href":"https://shop.example.com/",'
        '"width":800,"height":600}},{"type":2,"data":{"node":{"type":0,"id":1,"childNodes":['
        + body
        + "]}}}]}"
    )


async def test_a_page_deeper_than_the_event_loop_parses_still_reaches_the_agent(site, agent):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    # 1,000 nested divs: about 2,000 levels of JSON, past what Python parses on the event loop.
    chain = "".join(
        f'{{"type":2,"id":{10 + i},"tagName":"div","attributes":{{}},"childNodes":['
        for i in range(1000)
    )
    chain += '{"type":3,"id":5001,"textContent":"bottom of the chain"}' + "]}" * 1000
    await customer.send_to(text_data=deep_page(chain))
    message = await agent_ws.receive_output(timeout=10)
    relayed = zlib.decompress(message["bytes"]).decode()
    assert "bottom of the chain" in relayed and relayed.count('"tagName":"div"') == 1000
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_a_page_deeper_than_4000_levels_reaches_the_agent_as_a_clear_message(site, agent):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    body = "".join(
        f'{{"type":2,"id":{10 + i},"tagName":"div","attributes":{{}},"childNodes":['
        for i in range(4500)
    )
    body += "]}" * 4500
    await customer.send_to(text_data=deep_page(body))
    error = await agent_ws.receive_json_from(timeout=10)
    assert error["code"] == "page_too_deep" and "4,000 levels" in error["message"]
    assert (await customer.receive_json_from(timeout=5))["code"] == "page_too_deep"
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_a_page_over_its_guard_budget_reaches_the_agent_as_too_large(site, agent, settings):
    settings.COBROWSE_GUARD_SECONDS_PER_MINUTE = 1
    _, _, customer, agent_ws = await connected_pair(site, agent)
    big = deflate(events_frame(1, page_load(*rows(15000))))  # 30,000 nodes to guard
    told = None
    for _ in range(20):
        await customer.send_to(bytes_data=big)  # snapshots need no new sequence number
        message = await agent_ws.receive_output(timeout=20)
        if message.get("text") and '"page_too_large"' in message["text"]:
            told = json.loads(message["text"])
            break
        await asyncio.sleep(0.5)  # within the rate of pages a socket may send
    assert told is not None, "a page over its budget is stopped"
    assert "too large to share" in told["message"]
    errors = []
    while not await customer.receive_nothing(timeout=0.2):
        errors.append((await customer.receive_json_from())["code"])
    assert "page_too_large" in errors
    # Over the budget, its pages are dropped: the agent gets nothing more for now.
    await customer.send_json_to(snapshot_frame(100, content="small page"))
    assert await agent_ws.receive_nothing(timeout=0.3)
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_a_burst_of_snapshots_is_cut_to_the_allowed_rate(site, agent):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    for seq in range(1, 21):
        await customer.send_json_to(snapshot_frame(seq, content=f"page {seq}"))
    error = await customer.receive_json_from(timeout=10)
    assert error["code"] == "rate_limited" and "pages per second" in error["message"]
    relayed = 0
    while not await agent_ws.receive_nothing(timeout=0.5):
        message = await agent_ws.receive_output()
        relayed += '"events"' in (message.get("text") or "") or bool(message.get("bytes"))
    assert 10 <= relayed < 20
    await customer.disconnect()
    await agent_ws.disconnect()


def test_a_server_process_keeps_what_it_loaded_out_of_garbage_collections():
    """Full collections over Django's objects paused every session for 110-180 ms while a
    customer sent large pages (bench/RESULTS.md): the ASGI module freezes them and collects the
    young generation less often."""
    probe = "import gc, cobrowse.asgi; print(gc.get_freeze_count(), *gc.get_threshold())"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cobrowse.settings", "DEBUG": "true"}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    frozen, *threshold = (int(word) for word in out.stdout.split())
    assert frozen > 20_000, out.stderr[-2000:]
    assert threshold == [50_000, 20, 100]
