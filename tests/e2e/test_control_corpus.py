"""Control corpus (issue 10): no route lets an agent use a restricted control, type into a masked
or restricted field, submit a form or take the customer off the site.

One routed page holds a payment form (#pay, posting to /corpus/submit) and every way around its
restrictions. Each row is attempted twice where it can be: through the workspace's own UI (a
click or typing inside the mirror) and over a raw agent socket opened in the agent's page (the
frames the workspace would send, aimed at the exact node). After each attempt the customer's real
page must have seen nothing: no request to /corpus/submit or off the site, no submit event, no
click or input event on the row's elements, no change to the restricted controls; on the raw
socket an error frame must say it was refused. Positive controls prove the routes work at all: a
plain button click and typing into a plain field do reach the page. Failures are collected and
reported together, row/route by row/route (also in test-artifacts/control-corpus-report.txt).

Rerun on its own with: .venv/bin/pytest tests/e2e/test_control_corpus.py -q -p no:cacheprovider
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.corpus import (
    ERROR_CODES_REFUSED,
    MIRROR_IFRAME,
    Report,
    Routes,
    Wire,
    approve_write_mode,
    click_start,
    demo_site_key,
    end_session,
    mirror_has,
    node_id,
    page_html,
    serve,
)
from tests.e2e.helpers import ARTIFACTS, join, login, screenshot
from tests.support import free_port

pytestmark = pytest.mark.e2e

ELSEWHERE = "https://elsewhere.example"

# Every target sits in an unmasked wrapper with data-slot, so its node id can still be found if
# masking strips its own attributes (see corpus.node_id). Kept within the first screen: the UI
# route clicks where the mirror draws each element.
BODY = f"""
<h1 style="margin:2px 0">Control corpus</h1>
<form id="pay" action="/corpus/submit" method="post">
  <p><span data-slot="name"><input id="name" name="name" autocomplete="off"></span>
     <span data-slot="ok"><button type="button" id="ok">OK</button></span></p>
  <p><span data-slot="sub"><button type="submit" id="sub-btn"><span id="sub-span">Pay (span)</span></button></span>
     <span data-slot="btn-notype"><button id="btn-notype">Pay (no type)</button></span>
     <span data-slot="btn-emptytype"><button type="" id="btn-emptytype">Pay (empty type)</button></span>
     <span data-slot="btn-bogus"><button type="bogus" id="btn-bogus">Pay (bogus type)</button></span>
     <span data-slot="inp-submit"><input type="submit" id="inp-submit" value="Pay (submit)"></span>
     <span data-slot="inp-image"><input type="image" id="inp-image" src="/corpus/img/pay.png"
       alt="Pay (image)" width="60" height="20" style="border:1px solid #333"></span></p>
  <p><span data-slot="rc-check"><input type="checkbox" class="restricted-control" id="rc-check"
       name="close"> <label for="rc-check" id="rc-check-label">Close my account</label></span></p>
  <p><span data-slot="masked-radio"><label id="radio-label"><input type="radio"
       class="private-input" name="plan" id="masked-radio" value="premium">
       <span id="radio-label-text">Premium plan</span></label></span></p>
  <p><span data-slot="rc-btn"><button type="button" class="restricted-control" id="rc-btn"><b
       id="rc-btn-b">Delete my account</b></button></span></p>
  <p><span data-slot="rf"><input class="restricted-field" id="rf" name="rf"></span>
     <span data-slot="rf-child"><span class="restricted-field"><input id="rf-child"
       name="rf_child"></span></span>
     <span data-slot="pw"><input type="password" id="pw" name="pw"></span></p>
</form>
<form id="pay-enter" action="/corpus/submit" method="post"><span data-slot="enter"><input
  id="enter-field" name="q"> <button type="" id="enter-go">Go</button></span></form>
<p><span data-slot="async-pay"><span id="async-pay" role="button" tabindex="0">Pay
  later (a script submits after an await)</span></span>
  <span data-slot="jump"><select id="jump"><option value="">Jump to…</option><option
  value="{ELSEWHERE}/de/">Deutschland (elsewhere)</option></select></span>
  <span data-slot="reset-btn"><button type="reset" form="pay" id="reset-btn">Clear the form</button></span></p>
<p><span data-slot="btn-formattr"><button form="pay" id="btn-formattr">Pay (form=pay, outside)</button></span></p>
<p><span data-slot="off-link"><a href="{ELSEWHERE}/" id="off-link">Elsewhere <span
  id="off-link-span">(span)</span></a></span></p>
<p><span data-slot="off-area"><img src="/corpus/img/map.png" usemap="#offmap" width="120"
  height="24" id="map-img" alt="map" style="background:#dbeafe"><map name="offmap"><area
  id="off-area" shape="rect" coords="0,0,120,24" href="{ELSEWHERE}/area" alt="Elsewhere area">
  </map></span></p>
<p><span data-slot="svg"><svg width="160" height="24" id="svg"><a id="svg-link"
  href="{ELSEWHERE}/svg"><rect id="svg-rect" width="160" height="24" fill="#fde68a"></rect><text
  id="svg-text" x="6" y="16">SVG link elsewhere</text></a></svg></span></p>
"""

SCRIPT = """
var $ = function (id) { return document.getElementById(id); };
function target(e) { var p = e.composedPath ? e.composedPath() : []; return (p[0] || e.target).id || ''; }
window.__seen = {clicks: [], submits: [], inputs: []};
document.addEventListener('click', function (e) { __seen.clicks.push(target(e)); }, true);
document.addEventListener('submit', function (e) { __seen.submits.push(e.target.id || 'form'); }, true);
document.addEventListener('input', function (e) { __seen.inputs.push(target(e)); }, true);
document.addEventListener('change', function (e) { __seen.inputs.push(target(e)); }, true);
window.__state = function () {
  return {rc: $('rc-check').checked, radio: $('masked-radio').checked, rf: $('rf').value,
          rf_child: $('rf-child').value, pw: $('pw').value, name: $('name').value,
          url: location.href};
};
window.__reset = function (s) {
  $('rc-check').checked = s.rc; $('masked-radio').checked = s.radio; $('rf').value = s.rf;
  $('rf-child').value = s.rf_child; $('pw').value = s.pw;
  window.__seen = {clicks: [], submits: [], inputs: []};
};
// What real sites do a moment after a click or a change: submit after validating, jump off.
$('async-pay').addEventListener('click', function () {
  Promise.resolve().then(function () { setTimeout(function () { $('pay').requestSubmit(); }, 50); });
});
$('jump').addEventListener('change', function () { if (this.value) location.assign(this.value); });
window.__corpusReady = true;
"""

# The agent's raw socket, in the agent's page: every frame it receives is kept.
RAW_OPEN = """([code]) => new Promise((resolve) => {
  const ws = new WebSocket(`ws://${location.host}/ws/agent/${code}/`);
  window.__raw = {ws, frames: []};
  let inOrder = Promise.resolve();
  ws.onmessage = (m) => {
    inOrder = inOrder.then(async () => {
      let text = m.data;
      if (typeof text !== 'string') {  // a deflated page frame (frontend/deflate.js)
        const stream = m.data.stream().pipeThrough(new DecompressionStream('deflate'));
        text = await new Response(stream).text();
      }
      const data = JSON.parse(text);
      window.__raw.frames.push(data);
      if (data.type === 'events' && data.events.some((e) => e.type === 2)) resolve(true);
    });
  };
  setTimeout(() => resolve(false), 10000);
})"""
RAW_SNAPSHOT = """() => {
  const frames = window.__raw.frames;
  for (let i = frames.length - 1; i >= 0; i--) {
    if (frames[i].type !== 'events') continue;
    const snapshots = frames[i].events.filter((e) => e.type === 2);
    if (snapshots.length) return snapshots[snapshots.length - 1].data.node;
  }
  return null;
}"""

CLICK = {"type": "click", "x": 5, "y": 5}
UI_FALLBACK = {  # where the UI clicks when not on the target itself, by the unmasked wrapper
    "radio-label-text": '[data-slot="masked-radio"] label span',
    "map-img": '[data-slot="off-area"] img',
    "svg-rect": '[data-slot="svg"] rect',
}
TYPE = {"type": "input", "value": "typed-by-agent"}
CHECK = {"type": "input", "checked": True}


@dataclass(frozen=True)
class Attempt:
    name: str
    target: str | None  # HTML id of the element the agent acts on (its slot is data-slot)
    slot: tuple[str, str] | None  # (data-slot, tag) to find it if masking strips its id
    ui: str | None  # the workspace UI's way: "click", "type", "enter", "url" or None (cannot)
    raw: dict | None  # the frame the raw socket sends (the target's id is added), or None
    watch: tuple[str, ...] = ()  # ids whose click/input/change on the page means it got through
    ui_target: str | None = None  # where the UI clicks, when not on `target` itself
    mode: str = "write"
    refused: bool = True  # the raw socket must get an error frame


def nav(url: str) -> dict:
    return {"type": "navigate", "action": "url", "url": url}


ATTEMPTS = [
    # --- Pointer mode: nothing reaches the page but a red circle ----------------------------
    Attempt(
        "pointer_mode_click_on_restricted_control",
        "rc-btn",
        ("rc-btn", "button"),
        "click",
        CLICK,
        ("rc-btn", "rc-btn-b"),
        mode="pointer",
    ),
    Attempt(  # a plain click in pointer mode is a red circle: no error, nothing on the page
        "pointer_mode_click_on_plain_button",
        "ok",
        ("ok", "button"),
        "click",
        CLICK,
        ("ok",),
        mode="pointer",
        refused=False,
    ),
    Attempt(
        "pointer_mode_typing_into_plain_field",
        "name",
        ("name", "input"),
        "type",
        TYPE,
        ("name",),
        mode="pointer",
    ),
    # --- Every route to submitting a form -----------------------------------------------------
    Attempt(
        "span_inside_submit_button",
        "sub-span",
        ("sub", "span"),
        "click",
        CLICK,
        ("sub-span", "sub-btn"),
    ),
    Attempt(
        "button_without_type",
        "btn-notype",
        ("btn-notype", "button"),
        "click",
        CLICK,
        ("btn-notype",),
    ),
    Attempt(
        "button_with_empty_type",
        "btn-emptytype",
        ("btn-emptytype", "button"),
        "click",
        CLICK,
        ("btn-emptytype",),
    ),
    Attempt(
        "button_with_bogus_type",
        "btn-bogus",
        ("btn-bogus", "button"),
        "click",
        CLICK,
        ("btn-bogus",),
    ),
    Attempt(
        "input_type_submit", "inp-submit", ("inp-submit", "input"), "click", CLICK, ("inp-submit",)
    ),
    Attempt(
        "input_type_image", "inp-image", ("inp-image", "input"), "click", CLICK, ("inp-image",)
    ),
    Attempt(
        "button_form_attribute_outside_the_form",
        "btn-formattr",
        ("btn-formattr", "button"),
        "click",
        CLICK,
        ("btn-formattr",),
    ),
    Attempt(
        # Implicit submission: Enter in a text field. The mirror's own form then "clicks" its
        # default button (here one of an empty type, a submit button all the same) and the
        # workspace forwards that click. UI only: the protocol has no key command, and an input
        # command's value cannot carry a key press (an <input> strips newlines from its value).
        "enter_in_text_field_implicit_submission",
        "enter-field",
        ("enter", "input"),
        "enter",
        None,
        ("enter-go",),
    ),
    # --- Restricted controls, through the DOM around them -------------------------------------
    Attempt(
        "label_for_restricted_checkbox",
        "rc-check-label",
        ("rc-check", "label"),
        "click",
        CLICK,
        ("rc-check-label", "rc-check"),
    ),
    Attempt(
        "restricted_checkbox_itself",
        "rc-check",
        ("rc-check", "input"),
        "click",
        CHECK,
        ("rc-check",),
    ),
    Attempt(
        "label_wrapping_masked_radio",
        "radio-label",
        ("masked-radio", "label"),
        "click",
        CLICK,
        ("radio-label", "radio-label-text", "masked-radio"),
        ui_target="radio-label-text",
    ),
    Attempt(
        "masked_radio_itself",
        "masked-radio",
        ("masked-radio", "input"),
        "click",
        CHECK,
        ("masked-radio",),
    ),
    Attempt(
        "b_inside_restricted_button",
        "rc-btn-b",
        ("rc-btn", "b"),
        "click",
        CLICK,
        ("rc-btn-b", "rc-btn"),
    ),
    # --- Masked and restricted fields -----------------------------------------------------------
    Attempt("typing_into_restricted_field", "rf", ("rf", "input"), "type", TYPE, ("rf",)),
    Attempt(
        "typing_into_field_inside_restricted_container",
        "rf-child",
        ("rf-child", "input"),
        "type",
        TYPE,
        ("rf-child",),
    ),
    Attempt("typing_into_password_field", "pw", ("pw", "input"), "type", TYPE, ("pw",)),
    # --- Leaving the site -----------------------------------------------------------------------
    Attempt(
        "offsite_link", "off-link", ("off-link", "a"), "click", CLICK, ("off-link", "off-link-span")
    ),
    Attempt(
        "span_inside_offsite_link",
        "off-link-span",
        ("off-link", "span"),
        "click",
        CLICK,
        ("off-link-span", "off-link"),
    ),
    Attempt(
        "image_map_area_offsite",
        "off-area",
        ("off-area", "area"),
        "click",
        CLICK,
        ("off-area", "map-img"),
        ui_target="map-img",  # an <area> has no box of its own: the UI clicks the image there
    ),
    Attempt(
        "svg_link_offsite",
        "svg-link",
        ("svg", "a"),
        "click",
        CLICK,
        ("svg-link", "svg-rect", "svg-text"),
        ui_target="svg-rect",
    ),
    Attempt(
        "text_inside_svg_link_offsite",
        "svg-text",
        ("svg", "text"),
        "click",
        CLICK,
        ("svg-link", "svg-rect", "svg-text"),
    ),
    Attempt("navigate_url_to_another_origin", None, None, "url", nav(ELSEWHERE + "/phish")),
    # --- The page's own scripts, reacting to the agent a moment later ---------------------------
    Attempt(  # the click itself reaches the page (a plain span); the submission it starts does not
        "script_submits_after_an_await",
        "async-pay",
        ("async-pay", "span"),
        "click",
        CLICK,
    ),
    Attempt(  # a jump menu: the change reaches the page; the navigation off the site does not
        "select_that_navigates_off_the_site",
        "jump",
        ("jump", "select"),
        None,
        {"type": "input", "value": ELSEWHERE + "/de/"},
    ),
    Attempt("reset_button_wiping_the_form", "reset-btn", ("reset-btn", "button"), "click", CLICK),
    Attempt("navigate_url_to_another_port", None, None, "url", None),  # url set at run time
]


def reaches(customer: Page, value: str) -> bool:
    try:
        expect(customer.locator("#name")).to_have_value(value, timeout=5000)
        return True
    except AssertionError:
        return False


def test_attempts_are_sound():
    names = [a.name for a in ATTEMPTS]
    assert len(names) == len(set(names)) and len(ATTEMPTS) >= 15
    assert all(a.ui or a.raw or a.name == "navigate_url_to_another_port" for a in ATTEMPTS)


class Control:
    def __init__(self, server, customer: Page, agent_page: Page, routes: Routes, report: Report):
        self.server, self.customer, self.agent_page = server, customer, agent_page
        self.routes, self.report = routes, report
        self.url = server.customer_base + "/corpus/control/"
        self.view = agent_page.frame_locator(MIRROR_IFRAME)
        self.baseline: dict = {}
        self.navigations: list[str] = []
        self.syncs = 0

    # -- the raw socket ------------------------------------------------------------------------

    def raw_id(self, target: str, slot) -> int | None:
        tree = self.agent_page.evaluate(RAW_SNAPSHOT)
        return node_id(tree, target, slot) if tree else None

    def raw_send(self, frame: dict) -> int:
        mark = self.agent_page.evaluate("() => window.__raw.frames.length")
        self.agent_page.evaluate("(f) => window.__raw.ws.send(JSON.stringify(f))", frame)
        return mark

    def raw_errors(self, mark: int, timeout: float) -> list[str]:
        try:
            self.agent_page.wait_for_function(
                "(m) => window.__raw.frames.slice(m).some((f) => f.type === 'error')",
                arg=mark,
                timeout=timeout,
            )
        except Exception:
            pass
        return self.agent_page.evaluate(
            "(m) => window.__raw.frames.slice(m).filter((f) => f.type === 'error')"
            ".map((f) => f.code)",
            mark,
        )

    def raw_sync(self) -> bool:
        """A plain input over the raw socket; True once the page has it (frames are ordered)."""
        self.syncs += 1
        token = f"raw-sync-{self.syncs}"
        name = self.raw_id("name", ("name", "input"))
        self.raw_send({"type": "input", "id": name, "value": token})
        try:
            expect(self.customer.locator("#name")).to_have_value(token, timeout=5000)
            return True
        except AssertionError:
            return False

    # -- the workspace's UI ----------------------------------------------------------------------

    def ui_click(self, element_id: str, fallback: str | None = None) -> None:
        """A real mouse click where the mirror draws the element (found by its id or, if masking
        dropped the id, by its unmasked wrapper)."""
        locator = self.view.locator(f"#{element_id}")
        if fallback and not locator.count():
            locator = self.view.locator(fallback).first
        box = locator.bounding_box(timeout=3000)
        assert box, f"#{element_id} has no box in the mirror"
        self.agent_page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    def ui_sync(self) -> bool:
        self.syncs += 1
        token = f"ui-sync-{self.syncs}"
        try:
            self.view.locator("#name").fill(token, timeout=3000)
            expect(self.customer.locator("#name")).to_have_value(token, timeout=5000)
            return True
        except Exception:
            return False

    def ui_attempt(self, attempt: Attempt) -> None:
        where = attempt.ui_target or attempt.target
        if attempt.ui_target:
            fallback = UI_FALLBACK[attempt.ui_target]
        elif attempt.slot:
            fallback = f'[data-slot="{attempt.slot[0]}"] {attempt.slot[1]}'
        else:
            fallback = None
        if attempt.ui == "click":
            self.ui_click(where, fallback)
        elif attempt.ui == "type":
            self.ui_click(where, fallback)
            self.agent_page.keyboard.type("typed-by-agent")
        elif attempt.ui == "enter":
            self.ui_click(where, fallback)
            self.agent_page.keyboard.type("q")
            self.agent_page.keyboard.press("Enter")
        elif attempt.ui == "url":
            bar = self.agent_page.get_by_test_id("url-bar")
            bar.fill(attempt.raw["url"])
            bar.press("Enter")

    # -- the customer's page ---------------------------------------------------------------------

    def observe(self) -> tuple[dict, dict]:
        return (
            self.customer.evaluate("() => window.__seen"),
            self.customer.evaluate("() => window.__state()"),
        )

    def verify(self, label: str, attempt: Attempt, requests_mark: int, wire: Wire, wire_mark: int):
        """The page saw nothing of the attempt; then put the page back as it was."""
        seen, state = self.observe()
        problems = []
        requests = self.routes.requests[requests_mark:]
        if requests:
            problems.append(f"the page sent {[f'{m} {u}' for m, u, _ in requests]}")
        if seen["submits"]:
            problems.append(f"submit event on {seen['submits']}")
        hits = [i for i in seen["clicks"] + seen["inputs"] if i in attempt.watch]
        if hits:
            problems.append(f"the page saw click/input events on {sorted(set(hits))}")
        ignore = {"name"} if attempt.mode == "write" else set()  # the sync field
        changed = {
            k: f"{self.baseline[k]!r} -> {state[k]!r}"
            for k in self.baseline
            if k not in ignore and state[k] != self.baseline[k]
        }
        if changed:
            problems.append(f"the page changed: {changed}")
        if self.navigations:
            problems.append(f"the page navigated to {self.navigations}")
            self.navigations.clear()
        if problems:
            sent = [
                f.text[:160]
                for f in wire.frames[wire_mark:]
                if f.page == "agent" and f.sent and "/ws/agent/" in f.url
            ]
            self.report.fail(
                f"{attempt.name}/{label}", "; ".join(problems) + f" (agent sent {sent})"
            )
        self.customer.evaluate("(s) => window.__reset(s)", self.baseline)
        if self.customer.url != self.url:
            self.report.fail(
                f"{attempt.name}/{label}", f"the customer is now on {self.customer.url}"
            )

    def run(self, attempt: Attempt, wire: Wire) -> None:
        writing = attempt.mode == "write"
        if attempt.raw is not None:
            requests_mark, wire_mark = len(self.routes.requests), wire.mark()
            frame = dict(attempt.raw)
            if attempt.target:
                frame["id"] = self.raw_id(attempt.target, attempt.slot)
                if frame["id"] is None:
                    self.report.fail(f"{attempt.name}/raw", f"no node id for #{attempt.target}")
            if "id" not in frame or frame["id"] is not None:
                mark = self.raw_send(frame)
                if writing and not self.raw_sync():
                    self.report.fail(f"{attempt.name}/raw", "the sync input never reached the page")
                codes = self.raw_errors(mark, 1000 if writing else 2000)
                refusals = [c for c in codes if c in ERROR_CODES_REFUSED]
                if attempt.refused and not refusals:
                    self.report.fail(
                        f"{attempt.name}/raw",
                        f"no refusal on the raw socket (errors: {codes or 'none'})",
                    )
                if not attempt.refused and codes:
                    self.report.fail(f"{attempt.name}/raw", f"unexpected errors {codes}")
                if not writing:
                    self.customer.wait_for_timeout(200)  # a click would have landed by now
                self.verify("raw", attempt, requests_mark, wire, wire_mark)
        if attempt.ui is not None:
            requests_mark, wire_mark = len(self.routes.requests), wire.mark()
            try:
                self.ui_attempt(attempt)
            except Exception as error:
                first = str(error).strip().splitlines()[0]
                self.report.fail(f"{attempt.name}/ui", f"the UI attempt did not run: {first}")
            if writing:
                if not self.ui_sync():
                    self.report.fail(f"{attempt.name}/ui", "the sync input never reached the page")
            else:
                self.customer.wait_for_timeout(300)  # pointer mode: no command to sync with
            self.verify("ui", attempt, requests_mark, wire, wire_mark)


def test_control_corpus(server, customer, agent_page, request):
    report = Report("control corpus")
    wire = Wire()
    wire.attach(customer, "customer")
    wire.attach(agent_page, "agent")
    key = demo_site_key(server)
    other = f"http://127.0.0.1:{free_port()}"  # the same host, another origin
    attempts = [
        Attempt(a.name, None, None, "url", nav(other + "/corpus/control/"))
        if a.name == "navigate_url_to_another_port"
        else a
        for a in ATTEMPTS
    ]

    # Every submission and every request off the site is recorded and answered 204 No Content,
    # so that the page stays where it is even when an attempt gets through (and the session,
    # shared by all rows, goes on). The rows fail on the recorded request, not on a navigation.
    routes = Routes(record_prefixes=("/corpus/submit",))
    routes.pages["/corpus/control/"] = page_html(server, key, BODY, SCRIPT, title="Pay")
    serve(customer, server, routes)

    def offsite(route):
        routes.requests.append((route.request.method, route.request.url, ""))
        route.fulfill(status=204, body="")

    customer.route(ELSEWHERE + "/**", offsite)
    customer.route(other + "/**", offsite)

    control = Control(server, customer, agent_page, routes, report)
    customer.goto(control.url)
    customer.wait_for_function("window.__corpusReady === true")
    # The customer's own values: an agent's input would change them.
    customer.fill("#rf", "customer-rf")
    customer.fill("#rf-child", "customer-rf-child")
    customer.fill("#pw", "customer-pw")
    customer.evaluate("() => { window.__seen = {clicks: [], submits: [], inputs: []}; }")
    control.baseline = customer.evaluate("() => window.__state()")
    customer.on(
        "framenavigated",
        lambda frame: frame == customer.main_frame and control.navigations.append(frame.url),
    )

    code = click_start(customer)
    login(agent_page, server.agent_base, "agent2")
    join(agent_page, code)
    assert mirror_has(agent_page, "#pay"), "the mirror shows the page"
    # A second socket of the same agent, as a hand-written client would open it.
    assert agent_page.evaluate(RAW_OPEN, [code.replace(" ", "")]), "the raw socket got a snapshot"
    assert mirror_has(agent_page, "#pay"), "the mirror shows the page again"

    for attempt in attempts:
        if attempt.mode == "pointer":
            control.run(attempt, wire)

    # Write mode, through the workspace's UI and the customer's consent.
    approve_write_mode(agent_page, customer)
    agent_page.wait_for_function(
        "() => window.__raw.frames.some((f) => f.type === 'mode' && f.mode === 'write')"
    )

    # Positive controls: the same routes do reach the page for plain elements.
    positive: dict[str, bool] = {}
    mark = control.raw_send({**CLICK, "id": control.raw_id("ok", ("ok", "button"))})
    control.raw_sync()
    positive["plain_button_click/raw"] = "ok" in control.observe()[0]["clicks"]
    if errors := control.raw_errors(mark, 300):
        report.fail("positive_plain_button_click/raw", f"refused: {errors}")
    customer.evaluate("(s) => window.__reset(s)", control.baseline)
    control.ui_click("ok")
    control.ui_sync()
    positive["plain_button_click/ui"] = "ok" in control.observe()[0]["clicks"]
    customer.evaluate("(s) => window.__reset(s)", control.baseline)
    control.raw_send({**TYPE, "id": control.raw_id("name", ("name", "input"))})
    positive["typing_into_plain_field/raw"] = reaches(customer, "typed-by-agent")
    control.view.locator("#name").fill("typed-by-agent-ui", timeout=3000)
    positive["typing_into_plain_field/ui"] = reaches(customer, "typed-by-agent-ui")
    vacuous = not all(positive.values())
    for name, ok in positive.items():
        report.check(ok, f"positive_{name}", "did not reach the customer's page")

    if vacuous:
        report.notes.append("a positive control failed: the refusals below prove nothing")
    else:
        for attempt in attempts:
            if attempt.mode == "write":
                control.run(attempt, wire)

    screenshot(request, customer=customer, agent=agent_page)
    end_session(agent_page)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "control-corpus-report.txt").write_text(report.render() + "\n")
    assert not report.failures, report.render()
