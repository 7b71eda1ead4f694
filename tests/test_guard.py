"""The server guard on rrweb-shaped events: scrub, mark and report what the browser let through."""

from policies.guard import PrivacyGuard

POLICY = {
    "mask": {
        "input": [
            "input[type=password]",
            "input[type=hidden]",
            '[autocomplete^="cc-"]',
            ".private",
        ],
        "text": [".secret-text"],
        "block": ["img.id-card"],
    },
    "restrict": {"control": ["button[type=submit]", ".danger"], "field": ["#promo"]},
}


def el(node_id, tag, attrs=None, children=None):
    return {
        "type": 2,
        "id": node_id,
        "tagName": tag,
        "attributes": attrs or {},
        "childNodes": children or [],
    }


def text(node_id, value):
    return {"type": 3, "id": node_id, "textContent": value}


def snapshot(*body_children):
    doc = {
        "type": 0,
        "id": 1,
        "childNodes": [el(2, "html", {}, [el(3, "body", {}, list(body_children))])],
    }
    return {"type": 2, "data": {"node": doc}}


def mutation(**data):
    base = {"source": 0, "adds": [], "removes": [], "texts": [], "attributes": []}
    return {"type": 3, "data": {**base, **data}}


def input_event(node_id, value, checked=False):
    return {"type": 3, "data": {"source": 5, "id": node_id, "text": value, "isChecked": checked}}


def test_an_unmasked_password_in_a_snapshot_is_scrubbed_and_reported():
    guard = PrivacyGuard(POLICY)
    event = snapshot(el(10, "input", {"type": "password", "value": "hunter2"}))
    changed, alerts = guard.check_events([event])
    field = event["data"]["node"]["childNodes"][0]["childNodes"][0]["childNodes"][0]
    assert changed
    assert field["attributes"]["value"] == "*******"
    assert field["attributes"]["data-cobrowse-mask"] == "input"
    assert [a.kind for a in alerts] == ["unmasked_attribute:value"]
    assert "hunter2" not in repr(alerts)


def test_values_the_browser_already_masked_raise_no_alert():
    guard = PrivacyGuard(POLICY)
    event = snapshot(
        el(10, "input", {"type": "password", "value": "*******", "data-cobrowse-mask": "input"})
    )
    changed, alerts = guard.check_events([event])
    assert not changed and alerts == []


def test_typing_into_a_masked_field_is_scrubbed_on_the_hot_path():
    guard = PrivacyGuard(POLICY)
    guard.check_events([snapshot(el(10, "input", {"autocomplete": "cc-number"}))])
    event = input_event(10, "4111 1111")
    changed, alerts = guard.check_events([event])
    assert changed and event["data"]["text"] == "**** ****"
    assert alerts[0].kind == "unmasked_input"


def test_typing_into_an_ordinary_field_passes_untouched():
    guard = PrivacyGuard(POLICY)
    guard.check_events([snapshot(el(10, "input", {"name": "city"}))])
    event = input_event(10, "Lisbon")
    assert guard.check_events([event]) == (False, [])
    assert event["data"]["text"] == "Lisbon"


def test_a_field_added_later_inside_a_masked_container_is_masked():
    guard = PrivacyGuard(POLICY)
    guard.check_events([snapshot(el(10, "div", {"class": "private"}))])
    add = mutation(
        adds=[{"parentId": 10, "nextId": None, "node": el(11, "input", {"value": "secret"})}]
    )
    changed, alerts = guard.check_events([add])
    assert add["data"]["adds"][0]["node"]["attributes"]["value"] == "******"
    changed, alerts = guard.check_events([input_event(11, "more")])
    assert changed


def test_selectors_with_ancestors_match_nodes_added_later():
    policy = {**POLICY, "mask": {**POLICY["mask"], "input": [".billing input"]}}
    guard = PrivacyGuard(policy)
    guard.check_events([snapshot(el(10, "form", {"class": "billing"}, [el(12, "div")]))])
    add = mutation(adds=[{"parentId": 12, "node": el(13, "input", {"value": "x1"})}])
    guard.check_events([add])
    assert 13 in guard.masked


def test_a_password_switched_to_text_stays_masked():
    guard = PrivacyGuard(POLICY)
    guard.check_events([snapshot(el(10, "input", {"type": "password"}))])
    guard.check_events([mutation(attributes=[{"id": 10, "attributes": {"type": "text"}}])])
    event = input_event(10, "visible?")
    guard.check_events([event])
    assert event["data"]["text"] == "********"


def test_an_element_that_gains_a_masking_class_is_masked_from_then_on():
    guard = PrivacyGuard(POLICY)
    guard.check_events([snapshot(el(10, "input", {}))])
    guard.check_events([mutation(attributes=[{"id": 10, "attributes": {"class": "private"}}])])
    assert 10 in guard.masked


def test_masked_text_changes_are_scrubbed():
    guard = PrivacyGuard(POLICY)
    event = snapshot(el(10, "span", {"class": "secret-text"}, [text(11, "Jane Doe")]))
    guard.check_events([event])
    span = event["data"]["node"]["childNodes"][0]["childNodes"][0]["childNodes"][0]
    assert span["childNodes"][0]["textContent"] == "**** ***"
    change = mutation(texts=[{"id": 11, "value": "John Roe"}])
    guard.check_events([change])
    assert change["data"]["texts"][0]["value"] == "**** ***"


def test_a_blocked_image_loses_its_source_and_children():
    guard = PrivacyGuard(POLICY)
    event = snapshot(
        el(
            10,
            "img",
            {
                "class": "id-card",
                "src": "/passport.png",
                "alt": "Passport",
                "rr_width": "100px",
                "rr_height": "80px",
            },
        )
    )
    changed, alerts = guard.check_events([event])
    img = event["data"]["node"]["childNodes"][0]["childNodes"][0]["childNodes"][0]
    assert "src" not in img["attributes"] and "alt" not in img["attributes"]
    assert img["attributes"]["rr_width"] == "100px"
    assert img["attributes"]["data-cobrowse-mask"] == "block"
    assert alerts[0].kind == "unblocked_element"


def test_options_of_a_masked_select_are_scrubbed():
    guard = PrivacyGuard(POLICY)
    option = el(11, "option", {"value": "gold", "selected": True}, [text(12, "Gold plan")])
    event = snapshot(el(10, "select", {"class": "private"}, [option]))
    guard.check_events([event])
    assert option["attributes"]["value"] == "****"
    assert "selected" not in option["attributes"]
    assert option["childNodes"][0]["textContent"] == "**** ****"


def test_a_masked_checkbox_hides_its_state():
    guard = PrivacyGuard(POLICY)
    guard.check_events(
        [snapshot(el(10, "input", {"type": "checkbox", "class": "private", "checked": True}))]
    )
    event = input_event(10, "on", checked=True)
    guard.check_events([event])
    assert event["data"]["isChecked"] is False


def test_restricted_controls_and_fields_are_marked_and_refused():
    guard = PrivacyGuard(POLICY)
    event = snapshot(
        el(10, "button", {"type": "submit"}),
        el(11, "input", {"id": "promo"}),
        el(12, "a", {"class": "danger"}),
        el(13, "input", {"name": "city"}),
    )
    guard.check_events([event])
    body = event["data"]["node"]["childNodes"][0]["childNodes"][0]["childNodes"]
    assert body[0]["attributes"]["data-cobrowse-restrict"] == "control"
    assert body[1]["attributes"]["data-cobrowse-restrict"] == "field"
    assert guard.refuses(10) == "restricted control"
    assert guard.refuses(11) == "restricted field"
    assert guard.refuses(12) == "restricted control"
    assert guard.refuses(13) is None


def test_a_new_snapshot_forgets_the_old_pages_nodes():
    guard = PrivacyGuard(POLICY)
    guard.check_events([snapshot(el(10, "button", {"type": "submit"}))])
    guard.check_events([snapshot(el(10, "p", {}))])
    assert guard.refuses(10) is None


def test_malformed_events_are_ignored_without_errors():
    guard = PrivacyGuard(POLICY)
    junk = [
        None,
        1,
        "x",
        {"type": 2},
        {"type": 2, "data": {"node": "x"}},
        {
            "type": 3,
            "data": {
                "source": 0,
                "adds": [None, {"node": 5}],
                "texts": [1],
                "attributes": [{"id": 1, "attributes": "x"}],
            },
        },
        {"type": 3, "data": {"source": 5, "id": [], "text": 5}},
    ]
    assert guard.check_events(junk) == (False, [])


# The guard asks soupsieve only about elements that could match (policies.guard.ElementIndex);
# these prove the shortcut never loses a match, selector by selector, on a varied page.
TRICKY_SELECTORS = [
    "input[type=password]",
    "INPUT[TYPE=PASSWORD]",
    '[autocomplete^="cc-"]',
    "[x!=y]",
    ":not(.a)",
    "*",
    "form > input",
    "form input + button",
    "#Phone",
    "#phone",
    ".A",
    ".a.b",
    "div.a label",
    ":is(.a, #b)",
    "[data-x]",
    "input:checked",
    "button:not([type])",
    "svg rect",
    "p:nth-child(3)",
    "label ~ input",
    "section#s [title]",
]


def varied_page():
    nodes = []
    for i in range(30):
        nodes.append(
            el(
                100 + i * 10,
                "section" if i % 3 == 0 else "div",
                {"class": "a" if i % 2 else "a b", "id": "s" if i == 3 else f"d{i}"},
                [
                    el(
                        101 + i * 10,
                        "label",
                        {"x": "y" if i % 4 else "z"},
                        [text(102 + i * 10, "L")],
                    ),
                    el(
                        103 + i * 10,
                        "input",
                        {"type": ["password", "text", "PASSWORD", "checkbox"][i % 4], "id": "Phone"}
                        | ({"checked": True} if i % 5 == 0 else {})
                        | ({"autocomplete": "cc-number"} if i % 6 == 0 else {}),
                    ),
                    el(104 + i * 10, "p", {"data-x": "1"} if i % 7 == 0 else {}),
                    el(105 + i * 10, "p", {"title": "t"}),
                    el(106 + i * 10, "svg", {}, [el(107 + i * 10, "rect", {"class": "A"})]),
                ],
            )
        )
    nodes.append(el(900, "form", {}, [el(901, "input", {}), el(902, "button", {})]))
    return nodes


def test_the_candidate_index_never_loses_a_match_that_soupsieve_finds():
    import soupsieve

    from policies.guard import ElementIndex, subject_keys

    matching = 0
    for selector in TRICKY_SELECTORS:
        guard = PrivacyGuard(
            {
                "mask": {"input": [], "text": [], "block": []},
                "restrict": {"control": [], "field": []},
            }
        )
        guard.check_events([snapshot(*varied_page())])
        tags = {}
        soup = None
        for node_id, node in guard.elements.items():
            if soup is None:
                from bs4 import BeautifulSoup

                soup = BeautifulSoup("", "html.parser")
            tags[node_id] = guard._tag(soup, node_id, node)
        for node_id, node in guard.elements.items():
            (tags.get(node.parent) or soup).append(tags[node_id])
        expected = {int(t["data-rrid"]) for t in soupsieve.select(selector, soup)}
        pattern = soupsieve.compile(selector)
        index = ElementIndex(tags)
        found = {n for n in index.candidates(subject_keys(selector)) if pattern.match(tags[n])}
        assert found == expected, selector
        matching += bool(expected)
    # Only "#phone" matches nothing: ids compare with case, and the page has "Phone".
    assert matching == len(TRICKY_SELECTORS) - 1, "the page should exercise every other selector"


def test_the_guard_masks_the_same_nodes_as_a_plain_soupsieve_walk():
    policy = {
        "mask": {"input": ["INPUT[TYPE=PASSWORD]", "[x!=y] + input"], "text": [".A"], "block": []},
        "restrict": {"control": ["form > button"], "field": [":is(#d4, #d5) p[title]"]},
    }
    guard = PrivacyGuard(policy)
    guard.check_events([snapshot(*varied_page())])
    assert {n for n, k in guard.masked.items() if k == "input"} >= {103 + i * 10 for i in (0, 2)}
    assert 902 in guard.restricted
    assert {145, 155} <= set(guard.restricted)
    assert all(guard.masked.get(107 + i * 10) == "text" for i in range(30))
