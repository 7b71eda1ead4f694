"""Select and textarea state in the mirror (issue 11, item 7).

What the customer sees selected or written is what the agent sees: at the first snapshot and after
every later change, including changes made by the page's own script (they fire no input event):
`select.value = ...`, `option.selected = true`, `selectedIndex`, an `<option selected>` inside an
`<optgroup>`, a multi-select, `textarea.value = ...` (also emptied), `form.reset()`. A masked
select or textarea never shows its value, to the agent or on the wire.

Rerun on its own with: .venv/bin/pytest tests/e2e/test_form_state.py -q -p no:cacheprovider
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.corpus import (
    MIRROR_IFRAME,
    Routes,
    Wire,
    approve_write_mode,
    click_start,
    demo_site_key,
    end_session,
    page_html,
    serve,
    sync,
)
from tests.e2e.helpers import ARTIFACTS, join, login

pytestmark = pytest.mark.e2e

SECRET_OPTION = "FORMSTATE7SECRETOPTION"
SECRET_OPTION_LATER = "FORMSTATE7LATEROPTION"
SECRET_TEXT = "FORMSTATE7SECRETNOTES"
SECRET_TEXT_LATER = "FORMSTATE7LATERNOTES"

BODY = f"""
<form id="f">
<p><input id="sentinel" placeholder="sentinel"></p>
<p>value: <select id="s-value"><option value="a">Apple</option><option value="b">Banana</option>
  <option value="c">Cherry</option></select>
 option.selected: <select id="s-option"><option value="a">Apple</option>
  <option value="b">Banana</option><option value="c">Cherry</option></select>
 selectedIndex: <select id="s-index"><option value="a">Apple</option>
  <option value="b">Banana</option><option value="c">Cherry</option></select></p>
<p>optgroup: <select id="s-group"><optgroup label="Fruit"><option value="a">Apple</option>
  <option value="b">Banana</option></optgroup><optgroup label="Veg"><option value="c">Carrot</option>
  <option value="d" selected>Daikon</option></optgroup></select>
 none: <select id="s-none"><option value="a">Apple</option><option value="b">Banana</option></select>
</p>
<p>multiple: <select id="s-multi" multiple size="7"><option value="a">Apple</option>
  <option value="b" selected>Banana</option><option value="c">Cherry</option>
  <optgroup label="More"><option value="d">Date</option><option value="e">Elder</option></optgroup>
  </select></p>
<p><textarea id="t-load" rows="2" cols="30">Original text of t-load</textarea>
 <textarea id="t-empty" rows="2" cols="30">Original text of t-empty</textarea>
 <textarea id="t-later" rows="2" cols="30">Original text of t-later</textarea></p>
<p>masked: <select id="m-select" class="private-input"><option value="">Choose</option>
  <option value="x">Plain</option><option value="{SECRET_OPTION}">{SECRET_OPTION}</option>
  <option value="{SECRET_OPTION_LATER}">{SECRET_OPTION_LATER}</option></select>
 <textarea id="m-text" class="private-input" rows="2" cols="30"></textarea></p>
</form>
"""

# Set by script as the page loads: no input or change event fires.
LOAD_SCRIPT = f"""
document.getElementById('s-value').value = 'b';
document.getElementById('s-option').options[2].selected = true;
document.getElementById('s-index').selectedIndex = 1;
document.getElementById('s-none').selectedIndex = -1;
var multi = document.getElementById('s-multi');
multi.options[0].selected = true;
multi.options[3].selected = true;
document.getElementById('t-load').value = 'Set by script at load';
document.getElementById('t-empty').value = '';
document.getElementById('m-select').value = '{SECRET_OPTION}';
document.getElementById('m-text').value = '{SECRET_TEXT}';
window.__formReady = true;
"""

SELECTS = ["#s-value", "#s-option", "#s-index", "#s-group", "#s-none", "#s-multi"]
TEXTAREAS = ["#t-load", "#t-empty", "#t-later"]

READ_STATE_JS = """
([selectors, inMirror]) => {
  let doc = document;
  if (inMirror) {
    const frame = document.querySelector('__MIRROR__');
    doc = frame && frame.contentDocument;
    if (!doc) return null;
  }
  const state = {};
  for (const selector of selectors) {
    const el = doc.querySelector(selector);
    if (!el) { state[selector] = null; continue; }
    if (el.localName === 'select') {
      state[selector] = Array.from(el.options).filter(o => o.selected).map(o => o.value);
    } else {
      state[selector] = el.value;
    }
  }
  return state;
}
""".replace("__MIRROR__", MIRROR_IFRAME)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """This file's own daphne (and log), so that it can run beside other browser tests."""
    srv = Server(tmp_path_factory.mktemp("e2e-formstate"), name="daphne-formstate")
    srv.start()
    yield srv
    srv.stop()


def customer_state(customer: Page, selectors: list[str]) -> dict:
    return customer.evaluate(READ_STATE_JS, [selectors, False])


def mirror_state(agent_page: Page, selectors: list[str]) -> dict | None:
    return agent_page.evaluate(READ_STATE_JS, [selectors, True])


def expect_mirror_follows(customer: Page, agent_page: Page, moment: str, timeout=8.0) -> dict:
    """The mirror shows, for every select and textarea, what the customer's page holds."""
    selectors = SELECTS + TEXTAREAS
    want = customer_state(customer, selectors)
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = mirror_state(agent_page, selectors)
        if got == want:
            return want
        agent_page.wait_for_timeout(100)
    wrong = {
        s: {"customer": want[s], "mirror": (got or {}).get(s)}
        for s in selectors
        if not got or got.get(s) != want[s]
    }
    raise AssertionError(f"{moment}: the mirror differs from the customer's page: {wrong}")


def mirror_screenshot(agent_page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    agent_page.get_by_test_id("zoom-1to1").click()
    agent_page.locator(MIRROR_IFRAME).screenshot(path=str(ARTIFACTS / f"form-state-{name}.png"))
    agent_page.get_by_test_id("zoom-fit").click()


def assert_masked(agent_page: Page, wire: Wire, moment: str) -> None:
    """The masked select and textarea show no value in the mirror and none crossed the wire."""
    got = agent_page.evaluate(
        """() => {
          const doc = document.querySelector('__MIRROR__').contentDocument;
          const select = doc.querySelector('#m-select');
          const chosen = select && select.selectedOptions[0];
          return {
            select: select ? select.value : null,
            chosen: chosen ? chosen.value + ' ' + chosen.textContent : '',
            options: select ? Array.from(select.options).map(o => o.value + ' ' + o.text) : [],
            text: (doc.querySelector('#m-text') || {}).value,
          };
        }""".replace("__MIRROR__", MIRROR_IFRAME)
    )
    shown = repr(got)
    for secret in (SECRET_OPTION, SECRET_OPTION_LATER, SECRET_TEXT, SECRET_TEXT_LATER):
        assert secret not in shown, f"{moment}: the mirror shows {secret}: {got}"
        assert not wire.where(secret), f"{moment}: {secret} crossed: {wire.where(secret)}"
    assert set((got["text"] or "").strip()) <= {"*"}, f"{moment}: masked textarea shows {got}"


def open_session(server, customer: Page, agent_page: Page) -> Wire:
    """The form page with its script-set state; Start Co-browse; the agent joins and sees it."""
    key = demo_site_key(server)
    routes = Routes(pages={"/corpus/form-state/": page_html(server, key, BODY, LOAD_SCRIPT)})
    serve(customer, server, routes)
    wire = Wire()
    wire.attach(customer, "customer")
    wire.attach(agent_page, "agent")
    customer.goto(server.customer_base + "/corpus/form-state/")
    customer.wait_for_function("window.__formReady === true && !!window.Cobrowse")
    code = click_start(customer)
    # Between Start Co-browse and the join: the agent's first snapshot carries this.
    customer.evaluate("() => { document.getElementById('t-later').value = 'Set before the join'; }")
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    expect(agent_page.frame_locator(MIRROR_IFRAME).locator("#sentinel")).to_be_attached(
        timeout=15_000
    )
    assert sync(customer, agent_page, "#sentinel", "first"), "the mirror is not live"
    return wire


def test_selects_and_textareas_set_by_script_show_the_same_state_in_the_mirror(
    server, customer, agent_page, request
):
    wire = open_session(server, customer, agent_page)
    try:
        mirror_screenshot(agent_page, "first-snapshot")
        state = expect_mirror_follows(customer, agent_page, "at the first snapshot")
        # The page's script really did set them (the test is about script-set state).
        assert state["#s-value"] == ["b"] and state["#s-group"] == ["d"]
        assert state["#s-multi"] == ["a", "b", "d"] and state["#s-none"] == []
        assert state["#t-load"] == "Set by script at load" and state["#t-empty"] == ""
        assert_masked(agent_page, wire, "at the first snapshot")

        # Later changes by the page's script, each kind of setter, none firing an event.
        customer.evaluate(
            f"""() => {{
              document.getElementById('s-value').value = 'c';
              document.getElementById('s-option').options[0].selected = true;
              document.getElementById('s-index').selectedIndex = 2;
              document.getElementById('s-group').value = 'b';
              document.getElementById('s-none').options[1].selected = true;
              const multi = document.getElementById('s-multi');
              multi.options[0].selected = false;
              multi.options[1].selected = false;
              multi.options[2].selected = true;
              multi.options[4].selected = true;
              document.getElementById('t-load').value = 'Changed by script after the join';
              document.getElementById('t-empty').value = 'Filled by script after the join';
              document.getElementById('t-later').value = '';
              document.getElementById('m-select').value = '{SECRET_OPTION_LATER}';
              document.getElementById('m-text').value = '{SECRET_TEXT_LATER}';
            }}"""
        )
        state = expect_mirror_follows(customer, agent_page, "after script changes")
        assert state["#s-multi"] == ["c", "d", "e"] and state["#s-option"] == ["a"]
        assert_masked(agent_page, wire, "after script changes")

        # Changes the customer makes by hand, then a form reset (no input event either).
        customer.select_option("#s-multi", ["b", "e"])
        customer.select_option("#s-group", "c")
        customer.fill("#t-later", "Typed by the customer")
        expect_mirror_follows(customer, agent_page, "after the customer's own changes")
        mirror_screenshot(agent_page, "after-changes")
        customer.evaluate("() => document.getElementById('f').reset()")
        state = expect_mirror_follows(customer, agent_page, "after form.reset()")
        assert state["#s-group"] == ["d"] and state["#t-load"] == "Original text of t-load"
        sync(customer, agent_page, "#sentinel", "last")
        customer.wait_for_timeout(300)  # the last batches cross
        assert_masked(agent_page, wire, "at the end")
    finally:
        agent_page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-agent.png"))
        end_session(agent_page)


def test_in_write_mode_the_agents_choice_reaches_the_customer_and_stays_in_the_mirror(
    server, customer, agent_page, request
):
    """The mirror follows the customer's selects: what the agent picks there crosses, comes
    back as the customer's choice and stays; the customer's own changes still win."""
    wire = open_session(server, customer, agent_page)
    try:
        expect_mirror_follows(customer, agent_page, "at the first snapshot")
        approve_write_mode(agent_page, customer)
        view = agent_page.frame_locator(MIRROR_IFRAME)
        view.locator("#s-group").select_option("a")
        expect(customer.locator("#s-group")).to_have_value("a")
        view.locator("#s-value").select_option("c")
        expect(customer.locator("#s-value")).to_have_value("c")
        view.locator("#t-later").fill("Typed by the agent")
        expect(customer.locator("#t-later")).to_have_value("Typed by the agent")
        customer.wait_for_timeout(500)  # a poll of the widget has passed: nothing reverts
        state = expect_mirror_follows(customer, agent_page, "after the agent's choices")
        assert state["#s-group"] == ["a"] and state["#s-value"] == ["c"]
        customer.evaluate("() => { document.getElementById('s-group').value = 'd'; }")
        expect_mirror_follows(customer, agent_page, "after the page's script answered")
        assert_masked(agent_page, wire, "in write mode")
    finally:
        agent_page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-agent.png"))
        end_session(agent_page)
