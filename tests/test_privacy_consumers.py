"""The second line of defence in the consumers: scrub, report, refuse."""

import logging

import pytest
from channels.db import database_sync_to_async

from policies.models import PrivacyAlert, RestrictionRule
from tests.rrweb import el, events_frame, page_load, text
from tests.test_consumers import connected_pair

pytestmark = [pytest.mark.django_db(transaction=True)]

SECRET = "4111-SECRET-9999"


CARD = el(10, "input", {"autocomplete": "cc-number", "value": SECRET})
SUBMIT = el(11, "button", {"type": "submit"}, [text(12, "Pay")])
PROMO = el(13, "input", {"id": "promo"})
CITY = el(14, "input", {"name": "city"})


@database_sync_to_async
def alerts():
    return list(PrivacyAlert.objects.values("kind", "node_id", "selector", "url"))


async def test_an_unmasked_card_number_is_scrubbed_before_the_agent_and_reported(
    site, agent, caplog, channel_layer_kind
):
    caplog.set_level(logging.INFO)
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await customer.send_json_to(events_frame(1, page_load(CARD, timestamps=True)))
    frame = await agent_ws.receive_from()
    assert SECRET not in frame
    assert '"value":"****"' in frame  # masks do not tell the length
    await customer.send_json_to(
        {
            "type": "events",
            "seq": 2,
            "events": [
                {
                    "type": 3,
                    "data": {"source": 5, "id": 10, "text": SECRET, "isChecked": False},
                    "timestamp": 3,
                }
            ],
        }
    )
    frame = await agent_ws.receive_from()
    assert SECRET not in frame
    recorded = await alerts()
    assert {a["kind"] for a in recorded} == {"unmasked_attribute:value", "unmasked_input"}
    assert all(a["node_id"] == 10 for a in recorded)
    assert SECRET not in repr(recorded)
    assert "privacy alert" in caplog.text and SECRET not in caplog.text
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_the_agent_cannot_act_on_restricted_or_masked_nodes_even_over_the_socket(site, agent):
    await database_sync_to_async(RestrictionRule.objects.create)(
        site=site, selector="#promo", kind="field"
    )
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await customer.send_json_to(
        events_frame(1, page_load(CARD, SUBMIT, PROMO, CITY, timestamps=True))
    )
    await agent_ws.receive_from()
    for node_id, what in [
        (11, "restricted control"),
        (13, "restricted field"),
        (10, "masked field"),
    ]:
        # A spotlight points at a node without acting on it: masked ones are refused all the same.
        for kind in ("click", "input", "spotlight"):
            await agent_ws.send_json_to({"type": kind, "id": node_id, "x": 1, "y": 1, "text": "x"})
            error = await agent_ws.receive_json_from()
            assert error["code"] == "restricted" and what in error["message"]
    # An ordinary node in pointer mode: clicks point, typing is refused for the mode.
    await agent_ws.send_json_to({"type": "input", "id": 14, "text": "x"})
    assert (await agent_ws.receive_json_from())["code"] == "wrong_mode"
    await agent_ws.send_json_to({"type": "click", "id": 14, "x": 5, "y": 5})
    assert (await customer.receive_json_from())["type"] == "agent.click"
    await agent_ws.send_json_to({"type": "spotlight", "id": 14})
    assert await customer.receive_json_from() == {"type": "agent.spotlight", "id": 14}
    assert await customer.receive_nothing(timeout=0.2)
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_restricted_and_masked_nodes_carry_marks_for_the_agents_boxes(site, agent):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await customer.send_json_to(events_frame(1, page_load(CARD, SUBMIT, timestamps=True)))
    frame = await agent_ws.receive_json_from()
    body = frame["events"][1]["data"]["node"]["childNodes"][0]["childNodes"][0]["childNodes"]
    assert body[0]["attributes"]["data-cobrowse-mask"] == "input"
    assert body[1]["attributes"]["data-cobrowse-restrict"] == "control"
    await customer.disconnect()
    await agent_ws.disconnect()
