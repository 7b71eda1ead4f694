"""The guard's worker path (policies/guard_pool.py) knows a page exactly as the guard in the
consumer would, and relays what that guard would relay."""

import asyncio
import copy
import json
import zlib

from policies.guard import PrivacyGuard
from policies.guard_pool import guard_frame, load_state
from policies.selectors import DEFAULT_MASK_INPUT, DEFAULT_RESTRICT_SUBMIT
from tests.rrweb import el, events_frame, input_event, mutation, page_load, text

SECRET = "4111-SECRET-9999"
URL = "https://shop.example.com/checkout/"
POLICY = {
    "mask": {
        "input": [*DEFAULT_MASK_INPUT, ".billing input", ".private-input"],
        "text": [".private-text"],
        "block": ["img.private-image"],
    },
    "restrict": {"control": [*DEFAULT_RESTRICT_SUBMIT, ".danger"], "field": ["#promo"]},
    "kept_params": [],
}
PAGE = page_load(
    el(10, "form", {"action": "/pay"}, [
        el(11, "div", {"class": "billing"}, [
            el(12, "label", {"for": "street"}, [text(13, "Street")]),
            el(14, "input", {"id": "street", "value": "1 Main St"}),
        ]),
        el(15, "input", {"autocomplete": "cc-number", "value": SECRET}),
        el(16, "input", {"type": "password", "name": "pw", "value": "hunter2"}),
        el(17, "input", {"id": "promo"}),
        el(18, "button", {}, [text(19, "Pay")]),
        el(20, "a", {"href": "https://elsewhere.example/"}, [text(21, "Away")]),
        el(22, "p", {"class": "note"}, [text(23, "Thanks")]),
    ]),
    el(24, "img", {"class": "private-image", "src": "/secret.png"}),
    href=URL,
)  # fmt: skip
LATER = [
    # A class change brings a field under a rule, a new field lands in the billing block,
    # the card is typed into, and a field becomes a password.
    mutation(attributes=[{"id": 22, "attributes": {"class": "note private-text"}}]),
    mutation(adds=[{"parentId": 11, "nextId": None, "node": el(30, "input", {"value": "Flat 2"})}]),
    input_event(15, SECRET),
    input_event(30, "Flat 2"),
    mutation(attributes=[{"id": 17, "attributes": {"type": "password"}}]),
    input_event(17, "promo-secret"),
    mutation(texts=[{"id": 23, "value": "Thanks, Ada"}]),
    mutation(removes=[{"parentId": 10, "id": 18}]),
]


def worker_guard(events: list) -> tuple[PrivacyGuard, list, bytes | None, str | None]:
    result = guard_frame(POLICY, URL, json.dumps(events_frame(1, events)), URL, 10**8)
    guard = PrivacyGuard(POLICY, page_url=URL)
    refused = asyncio.run(load_state(guard, result.state))
    return guard, refused, result.deflated, result.text


def test_the_worker_path_masks_refuses_and_relays_as_the_inline_guard_does():
    inline = PrivacyGuard(POLICY, page_url=URL)
    page = copy.deepcopy(PAGE)
    inline.check_events(page)
    worker, refused, deflated, as_text = worker_guard(copy.deepcopy(PAGE))
    assert worker.masked == inline.masked and worker.restricted == inline.restricted
    assert sorted(map(tuple, refused)) == sorted(map(tuple, inline.refused_ids()))
    relayed = json.loads(zlib.decompress(deflated).decode() if deflated else as_text)
    assert relayed["events"] == page
    assert SECRET not in json.dumps(relayed) and "hunter2" not in json.dumps(relayed)
    for node_id in (14, 15, 16, 17, 18, 20, 24, 13):
        assert worker.refuses(node_id) == inline.refuses(node_id), node_id
    # The changes that follow are judged the same way by both.
    for change in LATER:
        a, b = copy.deepcopy(change), copy.deepcopy(change)
        assert inline.check_events([a]) == worker.check_events([b])
        assert a == b
    assert worker.masked == inline.masked and worker.restricted == inline.restricted


def test_the_worker_relays_no_query_or_fragment_whatever_the_frame_says():
    frame = events_frame(1, page_load(el(10, "p"), href=URL + "?card=" + SECRET + "#top"))
    frame["events"].append(copy.deepcopy(frame["events"][0]))  # a second meta, later on
    result = guard_frame(POLICY, URL, json.dumps(frame), None, 10**8)
    relayed = result.text or zlib.decompress(result.deflated).decode()
    assert SECRET not in relayed and "#top" not in relayed
    assert json.loads(relayed)["events"][0]["data"]["href"] == URL


def test_a_deflated_frame_is_inflated_by_the_worker_no_further_than_the_limit():
    frame = json.dumps(events_frame(1, page_load(el(10, "p", {}, [text(11, "x" * 5000)]))))
    assert guard_frame(POLICY, URL, zlib.compress(frame.encode()), None, 10**6).kind == "events"
    assert guard_frame(POLICY, URL, zlib.compress(frame.encode()), None, 1000).kind == "too_large"
    assert guard_frame(POLICY, URL, b"not deflate", None, 10**6).kind == "bad_binary"
    assert guard_frame(POLICY, URL, "[" * 100_000, None, 10**6).kind in ("too_deep", "bad_json")
