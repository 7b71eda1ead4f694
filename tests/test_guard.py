"""The server guard on rrweb-shaped events: scrub, mark and report what the browser let through."""

from policies.guard import PrivacyGuard
from tests.rrweb import el, input_event, mutation, snapshot, text

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


def test_an_unmasked_password_in_a_snapshot_is_scrubbed_and_reported():
    guard = PrivacyGuard(POLICY)
    event = snapshot(el(10, "input", {"type": "password", "value": "hunter2"}))
    changed, alerts = guard.check_events([event])
    field = event["data"]["node"]["childNodes"][0]["childNodes"][0]["childNodes"][0]
    assert changed
    assert field["attributes"]["value"] == "****"  # not its length
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
    assert changed and event["data"]["text"] == "****"
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
    guard.check_events([add])
    assert add["data"]["adds"][0]["node"]["attributes"]["value"] == "****"
    changed, _alerts = guard.check_events([input_event(11, "more")])
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
    assert event["data"]["text"] == "****"


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
    assert span["childNodes"][0]["textContent"] == "****"
    change = mutation(texts=[{"id": 11, "value": "John Roe"}])
    guard.check_events([change])
    assert change["data"]["texts"][0]["value"] == "****"


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
    _changed, alerts = guard.check_events([event])
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
    assert option["childNodes"][0]["textContent"] == "****"


def test_a_masked_checkbox_hides_its_state():
    guard = PrivacyGuard(POLICY)
    guard.check_events(
        [snapshot(el(10, "input", {"type": "checkbox", "class": "private", "checked": True}))]
    )
    event = input_event(10, "on", checked=True)
    batch = [event]
    guard.check_events(batch)
    assert batch == [], "the event itself would tell the agent the box was ticked"


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
    _changed, alerts = guard.check_events(junk)
    assert alerts == []
    assert {"type": 3, "data": {"source": 5, "id": [], "text": 5}} not in junk, "no id, no event"


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
                        # Passwords get ids of their own: the guard remembers a password's id.
                        {
                            "type": ["password", "text", "PASSWORD", "checkbox"][i % 4],
                            "id": "Phone" if i % 2 else f"pw{i}",
                        }
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


def plain_soupsieve_walk(policy: dict, page: dict) -> tuple[dict[int, str], dict[int, str]]:
    """The guard's rules the slow, obvious way: one soup of the whole page, each selector on its
    own, a password's field masked, masks (and restricted fields) covering their descendants."""
    import soupsieve
    from bs4 import BeautifulSoup

    soup = BeautifulSoup("", "html.parser")
    parent_of: dict[int, int | None] = {}  # elements in document order
    tag_of = {}

    def build(node, holder, parent_id):
        if node["type"] == 0:
            for child in node["childNodes"]:
                build(child, holder, parent_id)
        elif node["type"] == 2:
            attrs = {k: "" if v is True else str(v) for k, v in node["attributes"].items()}
            tag = soup.new_tag(node["tagName"], attrs={**attrs, "data-rrid": str(node["id"])})
            holder.append(tag)
            parent_of[node["id"]], tag_of[node["id"]] = parent_id, tag
            for child in node["childNodes"]:
                build(child, tag, node["id"])

    build(page, soup, None)
    masked: dict[int, str] = {}
    restricted: dict[int, str] = {}
    for family, target, kinds in (
        ("mask", masked, ("input", "text", "block")),
        ("restrict", restricted, ("field", "control")),
    ):
        for kind in kinds:
            for selector in policy[family][kind]:
                for tag in soupsieve.select(selector, soup):
                    target.setdefault(int(tag["data-rrid"]), kind)
    for node_id, tag in tag_of.items():
        if tag.name == "input" and tag.get("type", "").lower() == "password":
            masked.setdefault(node_id, "input")
    for node_id in parent_of:
        above = parent_of[node_id]
        while node_id not in masked and above is not None:
            if above in masked:
                masked[node_id] = masked[above]
            elif restricted.get(above) == "field":
                masked[node_id] = "input"
            above = parent_of[above]
    return masked, restricted


def test_the_guard_masks_the_same_nodes_as_a_plain_soupsieve_walk():
    policy = {
        "mask": {
            "input": ["INPUT[TYPE=PASSWORD]", "[x!=y] + input"],
            "text": [".A"],
            "block": ["section > svg"],
        },
        "restrict": {"control": ["form > button"], "field": [":is(#d4, #d5) p[title]", "#d7"]},
    }
    guard = PrivacyGuard(policy)
    event = snapshot(*varied_page())
    masked, restricted = plain_soupsieve_walk(policy, event["data"]["node"])
    guard.check_events([event])
    assert guard.masked == masked
    assert guard.restricted == restricted
    # The page exercises every kind, inherited masks included.
    assert set(masked.values()) == {"input", "text", "block"}
    assert set(restricted.values()) == {"field", "control"}
    assert {103, 123, 902} <= set(masked) | set(restricted) and masked[171] == "input"


# Issue 10: the guard's gaps, each closed (fail closed where it cannot tell).


def body_of(event):
    return event["data"]["node"]["childNodes"][0]["childNodes"][0]["childNodes"]


def test_a_node_id_given_as_a_float_is_the_same_node():
    guard = PrivacyGuard(POLICY)
    guard.check_events([snapshot(el(10, "input", {"class": "private"}))])
    event = input_event(10.0, "4111111111111111")
    guard.check_events([event])
    assert event["data"] == {"source": 5, "id": 10, "text": "****", "isChecked": False}


def test_events_naming_a_node_by_anything_but_an_integer_are_dropped():
    guard = PrivacyGuard(POLICY)
    guard.check_events([snapshot(el(10, "input", {}))])
    batch = [input_event("10", "x"), input_event(10.5, "y"), input_event(True, "z")]
    changed, _ = guard.check_events(batch)
    assert changed and batch == []


def test_a_snapshot_node_with_a_float_id_is_still_masked():
    guard = PrivacyGuard(POLICY)
    event = snapshot(el(11.0, "input", {"type": "password", "value": "hunter2"}))
    guard.check_events([event])
    assert body_of(event)[0]["attributes"]["value"] == "****"
    assert body_of(event)[0]["id"] == 11


def test_a_keystroke_before_a_full_snapshot_in_the_same_batch_is_dropped():
    guard = PrivacyGuard(POLICY)
    keystroke = input_event(10, "SECRET")
    batch = [keystroke, snapshot(el(10, "input", {"class": "private"}))]
    guard.check_events(batch)
    assert keystroke not in batch and "SECRET" not in repr(batch)


def test_typing_into_a_node_the_guard_never_saw_is_masked():
    guard = PrivacyGuard(POLICY)
    guard.check_events([snapshot(el(10, "input", {}))])
    event = input_event(99, "SECRET")
    guard.check_events([event])
    assert event["data"]["text"] == "****"


def test_a_field_inside_a_container_that_becomes_masked_later_is_masked():
    guard = PrivacyGuard(POLICY)
    guard.check_events([snapshot(el(10, "div", {}, [el(11, "input", {})]))])
    guard.check_events([mutation(attributes=[{"id": 10, "attributes": {"class": "private"}}])])
    event = input_event(11, "SECRET")
    guard.check_events([event])
    assert event["data"]["text"] == "****"
    assert guard.refuses(11) == "masked field"


def test_a_rule_with_an_ancestor_applies_when_the_ancestor_gains_its_class_later():
    policy = {**POLICY, "mask": {**POLICY["mask"], "input": [".billing input"]}}
    guard = PrivacyGuard(policy)
    guard.check_events([snapshot(el(10, "form", {}, [el(11, "div", {}, [el(12, "input")])]))])
    guard.check_events([mutation(attributes=[{"id": 10, "attributes": {"class": "billing"}}])])
    assert 12 in guard.masked


def test_style_changes_do_not_rematch_the_subtree():
    guard = PrivacyGuard(POLICY)
    guard.check_events([snapshot(el(10, "div", {}, [el(11, "input", {})]))])
    before = sum(guard.hits.values())
    guard.check_events([mutation(attributes=[{"id": 10, "attributes": {"style": "top:1px"}}])])
    assert sum(guard.hits.values()) == before
    assert "style" not in guard.rule_attrs


def test_a_source_or_srcset_set_later_on_a_masked_image_is_dropped():
    guard = PrivacyGuard(POLICY)
    guard.check_events([snapshot(el(10, "img", {"class": "id-card"}))])
    change = mutation(
        attributes=[{"id": 10, "attributes": {"src": "/passport.png", "srcset": "/p.png 2x"}}]
    )
    guard.check_events([change])
    assert change["data"]["attributes"][0]["attributes"] == {"src": None, "srcset": None}


def test_a_picture_source_does_not_show_the_masked_image_it_holds():
    guard = PrivacyGuard(POLICY)
    source = el(11, "source", {"srcset": "/passport.webp"})
    event = snapshot(el(10, "picture", {}, [source, el(12, "img", {"class": "id-card"})]))
    guard.check_events([event])
    assert "srcset" not in source["attributes"]
    assert source["attributes"]["data-cobrowse-mask"] == "block"


def test_only_harmless_attributes_pass_on_a_masked_field():
    guard = PrivacyGuard(POLICY)
    attrs = {
        "class": "private",
        "id": "card",
        "data-card": "4111",
        "data-value": "4111",
        "placeholder": "4111 1111 1111 1111",
        "aria-description": "ends in 1111",
        "href": "/pay?card=4111",
    }
    event = snapshot(el(10, "input", attrs))
    guard.check_events([event])
    kept = body_of(event)[0]["attributes"]
    assert kept == {
        "class": "private",
        "id": "card",
        "data-value": "****",
        "placeholder": "****",
        "aria-description": "****",
        "data-cobrowse-mask": "input",
    }


def test_the_widgets_own_mask_mark_is_honoured():
    guard = PrivacyGuard(POLICY)
    shown = el(10, "input", {"type": "text", "value": "hunter2", "data-cobrowse-mask": "input"})
    event = snapshot(shown)
    guard.check_events([event])
    assert shown["attributes"]["value"] == "****"
    keystroke = input_event(10, "hunter22")
    guard.check_events([keystroke])
    assert keystroke["data"]["text"] == "****"


def test_masks_reveal_the_length_only_when_the_site_allows_it():
    guard = PrivacyGuard({**POLICY, "mask_reveals_length": True})
    guard.check_events([snapshot(el(10, "input", {"class": "private"}))])
    event = input_event(10, "4111 1111")
    guard.check_events([event])
    assert event["data"]["text"] == "**** ****"


def test_clicks_and_focus_on_a_masked_radio_never_reach_the_agent():
    guard = PrivacyGuard(POLICY)
    group = [el(10 + i, "input", {"type": "radio", "class": "private"}) for i in range(3)]
    guard.check_events([snapshot(*group)])
    batch = [
        {"type": 3, "data": {"source": 2, "type": 5, "id": 11}},  # focus
        {"type": 3, "data": {"source": 2, "type": 2, "id": 11, "x": 1, "y": 1}},  # click
        input_event(11, "on", checked=True),
        input_event(10, "on", checked=False),
    ]
    guard.check_events(batch)
    assert batch == []


SUBMITTING_PAGE = [
    el(
        20,
        "form",
        {"id": "pay"},
        [
            el(21, "button", {}, [el(22, "span", {}, [text(23, "Pay")])]),
            el(24, "button", {"type": ""}),
            el(25, "button", {"type": "bogus"}),
            el(26, "button", {"type": " button"}),
            el(27, "button", {"type": "BUTTON"}),
            el(28, "input", {"type": "IMAGE"}),
            el(29, "input", {"name": "city"}),
        ],
    ),
    el(30, "button", {"form": "pay"}),
    el(31, "button", {}),  # no form owner: submits nothing
    el(32, "label", {"for": "secret"}, [text(33, "Secret")]),
    el(34, "input", {"id": "secret", "class": "private", "type": "checkbox"}),
    el(35, "label", {}, [el(36, "b"), el(37, "input", {"type": "radio", "class": "private"})]),
    el(38, "div", {"class": "danger"}, [el(39, "span")]),
    el(40, "a", {"href": "https://elsewhere.example/"}, [el(41, "span")]),
    el(42, "area", {"href": "//elsewhere.example/map"}),
    el(43, "a", {"xlink:href": "https://elsewhere.example/svg"}),
    el(44, "a", {"href": "/demo/products/"}),
    el(45, "a", {"href": "javascript:alert(1)"}),
    el(46, "a", {"href": "#top"}),
]


def test_every_route_to_a_restricted_control_or_a_submission_is_refused():
    policy = {**POLICY, "origins": ["https://shop.example"], "submit_restricted": True}
    guard = PrivacyGuard(policy, page_url="https://shop.example/demo/checkout/")
    guard.check_events([snapshot(*SUBMITTING_PAGE)])
    refused = {n for n in guard.elements if n >= 20 and guard.refuses(n)}
    assert refused == {21, 22, 24, 25, 26, 28, 30, 32, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 45}
    assert guard.refuses(99) == "unknown element"
    assert guard.refuses(32).startswith("label of a")


def test_a_site_that_lifts_the_submit_restriction_lets_buttons_submit():
    policy = {**POLICY, "origins": ["https://shop.example"], "submit_restricted": False}
    policy["restrict"] = {"control": [".danger"], "field": []}
    guard = PrivacyGuard(policy, page_url="https://shop.example/demo/checkout/")
    guard.check_events([snapshot(*SUBMITTING_PAGE)])
    assert guard.refuses(21) is None and guard.refuses(30) is None
    assert guard.refuses(40) is not None, "links off the site stay refused"


def test_a_node_added_under_itself_or_its_own_descendant_is_dropped():
    guard = PrivacyGuard(POLICY)
    guard.check_events([snapshot(el(10, "label", {}, [el(11, "span")]))])
    loop = mutation(adds=[{"parentId": 11, "node": el(10, "label", {}, [el(10, "input")])}])
    twice = mutation(adds=[{"parentId": 11, "node": el(12, "b", {}, [el(12, "i")])}])
    guard.check_events([loop, twice])
    assert loop["data"]["adds"] == []
    assert twice["data"]["adds"][0]["node"]["childNodes"] == []
    assert guard.refuses(10) is None and guard.ancestors(12) == [2, 3, 10, 11, 12]


def test_rules_for_other_paths_apply_inside_frames():
    policy = {**POLICY, "frames": {"mask": {"input": ["#iban"]}, "restrict": {}}}
    guard = PrivacyGuard(policy)
    guard.check_events([snapshot(el(10, "input", {"id": "iban"}), el(11, "iframe"))])
    frame_doc = {
        "type": 0,
        "id": 20,
        "childNodes": [el(21, "html", {}, [el(22, "input", {"id": "iban"})])],
    }
    guard.check_events([mutation(adds=[{"parentId": 11, "node": frame_doc}])])
    assert 10 not in guard.masked, "on the page itself the rule is for another path"
    assert 22 in guard.masked


def test_a_click_on_the_label_of_a_masked_radio_never_reaches_the_agent():
    guard = PrivacyGuard(POLICY)
    guard.check_events(
        [
            snapshot(
                el(10, "label", {"for": "gold"}, [text(11, "Gold")]),
                el(12, "input", {"id": "gold", "type": "radio", "class": "private"}),
            )
        ]
    )
    batch = [{"type": 3, "data": {"source": 2, "type": 2, "id": 10, "x": 1, "y": 1}}]
    guard.check_events(batch)
    assert batch == []


def test_class_and_style_changes_on_masked_nodes_are_not_relayed():
    guard = PrivacyGuard(POLICY)
    card = el(11, "label", {"class": "opt"}, [el(12, "input", {"type": "radio"})])
    guard.check_events([snapshot(el(10, "div", {"class": "private"}, [card]))])
    change = mutation(
        attributes=[{"id": 11, "attributes": {"class": "opt is-checked", "style": "--v:'4111'"}}]
    )
    guard.check_events([change])
    assert change["data"]["attributes"][0]["attributes"] == {}


def test_a_password_replaced_by_a_new_text_field_of_the_same_name_stays_masked():
    guard = PrivacyGuard(POLICY)
    guard.check_events([snapshot(el(10, "input", {"type": "password", "name": "pass"}))])
    shown = el(11, "input", {"type": "text", "name": "pass", "value": "hunter2"})
    guard.check_events(
        [mutation(removes=[{"parentId": 3, "id": 10}], adds=[{"parentId": 3, "node": shown}])]
    )
    assert shown["attributes"]["value"] == "****"


def test_reset_buttons_are_refused_with_the_submits():
    guard = PrivacyGuard({**POLICY, "origins": ["https://shop.example"]})
    form = el(
        20, "form", {}, [el(21, "button", {"type": "reset"}), el(22, "input", {"type": "RESET"})]
    )
    guard.check_events([snapshot(form)])
    assert guard.refuses(21) and guard.refuses(22)


def test_links_that_browsers_read_as_another_host_are_refused():
    policy = {**POLICY, "origins": ["https://shop.example"]}
    hrefs = [
        "/\\evil.example/",
        "\\\\evil.example/",
        "https:\\\\evil.example/",
        "https://evil.example\\@shop.example/",
        "https://user@shop.example/",
    ]
    guard = PrivacyGuard(policy, page_url="https://shop.example/demo/")
    guard.check_events([snapshot(*[el(30 + i, "a", {"href": h}) for i, h in enumerate(hrefs)])])
    assert all(guard.refuses(30 + i) for i in range(len(hrefs)))


def test_select_and_textarea_state_passes_for_unmasked_fields_and_never_for_masked_ones():
    """The widget sends each option's selectedness as `selected` (snapshot and attribute
    changes) and a textarea's value, also when empty (issue 11, item 7): as they are for plain
    fields; dropped or starred for masked ones, and for an option a `:checked` rule masks once it
    is chosen."""
    guard = PrivacyGuard(
        {**POLICY, "mask": {**POLICY["mask"], "input": [".private", "option:checked.p"]}}
    )
    plain = el(11, "option", {"value": "a", "selected": True}, [text(12, "Apple")])
    other = el(13, "option", {"value": "b"}, [text(14, "Banana")])
    secret = el(21, "option", {"value": "gold", "selected": True}, [text(22, "Gold")])
    ruled = el(31, "option", {"value": "x", "class": "p"}, [text(32, "X")])
    event = snapshot(
        el(10, "select", {"multiple": True}, [plain, other, ruled]),
        el(20, "select", {"class": "private"}, [secret]),
        el(40, "textarea", {"value": ""}, [text(41, "original")]),
        el(50, "textarea", {"class": "private", "value": "my notes"}),
    )
    guard.check_events([event])
    assert plain["attributes"] == {"value": "a", "selected": True}
    assert "selected" not in secret["attributes"]
    body = event["data"]["node"]["childNodes"][0]["childNodes"][0]["childNodes"]
    assert body[2]["attributes"] == {"value": ""}
    assert body[3]["attributes"]["value"] == "****"
    changes = [
        {"id": 11, "attributes": {"selected": None}},
        {"id": 13, "attributes": {"selected": ""}},
        {"id": 21, "attributes": {"selected": ""}},
        {"id": 31, "attributes": {"selected": ""}},
    ]
    batch = [mutation(attributes=changes), input_event(40, "typed"), input_event(50, "secret")]
    guard.check_events(batch)
    assert [c["attributes"].get("selected") for c in changes] == [None, "", None, None]
    assert batch[1]["data"]["text"] == "typed"
    assert batch[2]["data"]["text"] == "****"


def test_the_agent_may_scroll_the_page_and_boxes_but_not_masked_or_unknown_ones():
    guard = PrivacyGuard(POLICY)
    guard.check_events(
        [snapshot(el(5, "div", {"class": "terms"}), el(6, "div", {"class": "private"}))]
    )
    assert guard.scroll_refusal(1) is None  # the document
    assert guard.scroll_refusal(5) is None
    assert guard.scroll_refusal(6) == "masked field"
    assert guard.scroll_refusal(99) == "unknown element"
    assert guard.refuses(1) == "unknown element"  # a click on the document is still refused


def test_the_guard_names_elements_for_the_audit_and_lists_what_the_agent_may_not_touch():
    guard = PrivacyGuard(POLICY)
    guard.check_events(
        [
            snapshot(
                el(5, "button", {"id": "buy", "class": "btn big primary extra", "type": "submit"}),
                el(6, "input", {"type": "password"}),
                el(7, "p"),
            )
        ]
    )
    assert guard.describe(5) == "button#buy.btn.big.primary"
    assert guard.describe(7) == "p"
    assert guard.describe(99) == guard.describe(None) == ""
    assert sorted(guard.refused_ids()) == [[5, "restricted control"], [6, "masked field"]]
