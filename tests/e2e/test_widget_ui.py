"""The customer's widget as the customer sees it, in Chromium (issue 11, item 8).

The "Not visible to the agent" notice follows its field and covers nothing else; the launchers are
readable in every state; notices speak to the customer, stay clear of the shop's navigation and
are announced; counts read as words do ("2 minutes", "1 minute").
"""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.helpers import join, login, mirror, screenshot, start_cobrowse, widget

pytestmark = pytest.mark.e2e

NOTICE = "cobrowse-private-notice"

# The notice's box, the field's (with its label's text for a checkbox or radio button), and every
# other control and every piece of text on the page, in viewport coordinates.
GEOMETRY = """
([selector, withLabel]) => {
  const box = r => ({left: r.left, top: r.top, right: r.right, bottom: r.bottom});
  const notice = document.querySelector('cobrowse-widget').shadowRoot
    .querySelector('[data-testid=cobrowse-private-notice]');
  const field = document.querySelector(selector);
  let f = box(field.getBoundingClientRect());
  const label = withLabel && field.closest('label');
  if (label) {
    const range = document.createRange();
    range.selectNodeContents(label);
    const l = range.getBoundingClientRect();
    f = {left: Math.min(f.left, l.left), top: Math.min(f.top, l.top),
         right: Math.max(f.right, l.right), bottom: Math.max(f.bottom, l.bottom)};
  }
  const obstacles = [];
  const controls = 'input:not([type=hidden]),select,textarea,button,a[href],summary,img,svg,[contenteditable]';
  for (const el of document.querySelectorAll(controls)) {
    if (el === field || el.closest('cobrowse-widget')) continue;
    const r = el.getBoundingClientRect();
    if (r.width && r.height) obstacles.push({what: el.id || el.outerHTML.slice(0, 60), ...box(r)});
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let t; (t = walker.nextNode()); ) {
    if (!t.data.trim() || t.parentElement.closest('script,style,cobrowse-widget')) continue;
    const range = document.createRange();
    range.selectNodeContents(t);
    for (const r of range.getClientRects()) {
      if (r.width && r.height) obstacles.push({what: 'text ' + JSON.stringify(t.data.trim().slice(0, 40)), ...box(r)});
    }
  }
  return {
    notice: notice.hidden ? null : box(notice.getBoundingClientRect()),
    side: notice.getAttribute('data-side'),
    field: f, obstacles, vw: document.documentElement.clientWidth, vh: innerHeight,
  };
}
"""

# True once the notice sits beside the field (used to wait for the next frame after a scroll).
BESIDE = (
    "([selector, withLabel]) => { const g = (" + GEOMETRY + ")([selector, withLabel]);"
    " if (!g.notice) return false; const n = g.notice, f = g.field;"
    " const gap = Math.max(n.left - f.right, f.left - n.right, n.top - f.bottom, f.top - n.bottom);"
    " return gap >= 0 && gap <= 10; }"
)


def overlap(a: dict, b: dict) -> bool:
    across = a["left"] < b["right"] and b["left"] < a["right"]
    return across and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def assert_notice_beside(page: Page, selector: str, *, with_label: bool = False) -> dict:
    """The notice is shown next to the field (at most 10 px away, not over it), on the screen,
    and covers no other control and no text of the page."""
    page.wait_for_function(BESIDE, arg=[selector, with_label])
    g = page.evaluate(GEOMETRY, [selector, with_label])
    n, f = g["notice"], g["field"]
    assert n is not None, "the notice is shown"
    gap = max(n["left"] - f["right"], f["left"] - n["right"], n["top"] - f["bottom"])
    gap = max(gap, f["top"] - n["bottom"])
    assert 0 <= gap <= 10, f"notice {n} is beside field {f}"
    assert 0 <= n["left"] and n["right"] <= g["vw"] and 0 <= n["top"] and n["bottom"] <= g["vh"]
    covered = [o["what"] for o in g["obstacles"] if overlap(n, o)]
    assert not covered, f"the notice ({g['side']}) covers {covered}"
    return g


def live_session(server, customer: Page, agent_page: Page, path: str) -> str:
    code = start_cobrowse(customer, server.customer_base + path)
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    expect(agent_page.locator("#session-status")).to_have_text("Live")
    expect(mirror(agent_page).locator("h1")).to_be_visible()
    return code


def leave(agent_page: Page) -> None:
    """Leave agent1 free for the next test, as an agent would."""
    button = agent_page.get_by_test_id("exit-session")
    if button.is_visible() and button.is_enabled():
        button.click()
        expect(agent_page.locator("#session-status")).to_have_text("Ended")


def wait_scrolled(page: Page) -> None:
    """Until the page's scroll position has settled (wheel scrolling may be animated)."""
    page.wait_for_function(
        """() => new Promise(done => { const y = scrollY;
            requestAnimationFrame(() => requestAnimationFrame(() => done(scrollY === y))); })"""
    )


@pytest.fixture
def checkout(server, customer, agent_page):
    code = live_session(server, customer, agent_page, "/demo/checkout/")
    yield code
    leave(agent_page)


@pytest.fixture
def lab(server, customer, agent_page):
    code = live_session(server, customer, agent_page, "/demo/privacy/")
    yield code
    leave(agent_page)


# ---------------------------------------------------------------------------
# 1. "Not visible to the agent"
# ---------------------------------------------------------------------------


def test_the_private_notice_follows_a_masked_field_as_the_page_scrolls_and_covers_no_neighbour(
    customer, agent_page, checkout, request
):
    notice = widget(customer).get_by_test_id(NOTICE)
    customer.locator("#card-number").click()
    expect(notice).to_be_visible()
    expect(notice).to_have_text("Not visible to the agent")
    first = assert_notice_beside(customer, "#card-number")
    screenshot(request, customer_focused=customer)

    # The page scrolls (the wheel, then a script): the notice moves with the field.
    customer.mouse.move(640, 400)
    customer.mouse.wheel(0, 160)
    wait_scrolled(customer)
    moved = assert_notice_beside(customer, "#card-number")
    assert moved["field"]["top"] < first["field"]["top"] - 100, "the page did scroll"
    assert moved["notice"]["top"] < first["notice"]["top"] - 100, "the notice followed"
    screenshot(request, customer_scrolled=customer)

    # The next field gets focus: the notice moves to it, never over it.
    customer.keyboard.press("Tab")
    expect(customer.locator("#card-expiry")).to_be_focused()
    assert_notice_beside(customer, "#card-expiry")
    customer.keyboard.press("Tab")
    assert_notice_beside(customer, "#card-cvc")
    screenshot(request, customer_next_field=customer)

    # Scrolled under the sticky header or off the screen, the field has no notice; back, it has.
    customer.evaluate(
        "window.scrollBy(0, document.querySelector('#card-cvc').getBoundingClientRect().top - 20)"
    )
    expect(notice).to_be_hidden()
    screenshot(request, customer_field_under_header=customer)
    customer.evaluate("document.querySelector('#card-cvc').scrollIntoView({block: 'center'})")
    assert_notice_beside(customer, "#card-cvc")

    # An unmasked field, or no focus at all: no notice.
    customer.locator("#name").focus()
    expect(notice).to_be_hidden()
    customer.locator("#card-number").focus()
    expect(notice).to_be_visible()
    customer.evaluate("document.activeElement.blur()")
    expect(notice).to_be_hidden()


def test_the_private_notice_follows_a_field_in_a_scrolled_container_and_goes_with_it(
    customer, agent_page, checkout, request
):
    notice = widget(customer).get_by_test_id(NOTICE)
    customer.evaluate(
        """() => {
          const box = document.createElement('div');
          box.id = 'wallet';
          box.style.cssText = 'height:130px;overflow:auto;border:1px solid #999;padding:8px;margin:8px 0';
          box.innerHTML = ['one', 'two', 'three', 'four'].map(n =>
            `<div class="field"><label for="wallet-${n}">Card ${n}</label>` +
            `<input id="wallet-${n}" autocomplete="cc-number"></div>`).join('');
          document.querySelector('#checkout-form h2').after(box);
          box.scrollIntoView({block: 'center'});
        }"""
    )
    customer.locator("#wallet-two").focus()
    expect(notice).to_be_visible()
    before = assert_notice_beside(customer, "#wallet-two")
    customer.evaluate("document.querySelector('#wallet').scrollTop = 40")
    after = assert_notice_beside(customer, "#wallet-two")
    assert after["notice"]["top"] < before["notice"]["top"] - 30, "the notice followed the field"
    screenshot(request, customer_container_scrolled=customer)
    # Scrolled out of its container's view: hidden; and back.
    customer.evaluate("document.querySelector('#wallet').scrollTop = 400")
    expect(notice).to_be_hidden()
    customer.evaluate("document.querySelector('#wallet').scrollTop = 40")
    assert_notice_beside(customer, "#wallet-two")
    # The field is hidden by the page, then removed: the notice goes with it.
    customer.evaluate("document.querySelector('#wallet-two').style.visibility = 'hidden'")
    expect(notice).to_be_hidden()
    customer.evaluate("document.querySelector('#wallet-two').style.visibility = ''")
    customer.locator("#wallet-two").focus()
    expect(notice).to_be_visible()
    customer.evaluate("document.querySelector('#wallet').remove()")
    expect(notice).to_be_hidden()


def test_the_private_notice_leaves_the_neighbouring_options_readable_and_goes_on_a_page_change(
    server, customer, agent_page, lab, request
):
    notice = widget(customer).get_by_test_id(NOTICE)
    customer.locator("#lab-radio-a").focus()
    expect(notice).to_be_visible()
    assert_notice_beside(customer, "#lab-radio-a", with_label=True)
    screenshot(request, customer_radio=customer)
    for selector in ("#lab-select", "#lab-notes", "#lab-otp", "#lab-check"):
        customer.locator(selector).focus()
        assert_notice_beside(customer, selector, with_label=selector == "#lab-check")
    screenshot(request, customer_checkbox=customer)

    # A single-page navigation while the field has focus: the notice goes at once.
    customer.locator("#lab-otp").focus()
    expect(notice).to_be_visible()
    customer.evaluate("history.pushState({}, '', '/demo/privacy/step-2/')")
    expect(notice).to_be_hidden()
    url_bar = agent_page.get_by_test_id("url-bar")
    expect(url_bar).to_have_value(server.customer_base + "/demo/privacy/step-2/")
    customer.evaluate("history.back()")
    expect(url_bar).to_have_value(server.customer_base + "/demo/privacy/")
    expect(notice).to_be_hidden()
    # The field kept its focus: typing in it brings the notice back.
    customer.keyboard.type("4")
    expect(notice).to_be_visible()
    assert_notice_beside(customer, "#lab-otp")

    # A new page: no notice there, nor on the way back.
    customer.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
    expect(customer).to_have_url(server.customer_base + "/demo/account/")
    expect(widget(customer).get_by_test_id("cobrowse-session-id")).to_have_text(lab)
    expect(notice).to_be_hidden()
    screenshot(request, customer_new_page=customer)
    customer.go_back()
    expect(customer).to_have_url(server.customer_base + "/demo/privacy/")
    expect(widget(customer).get_by_test_id(NOTICE)).to_be_hidden()


# ---------------------------------------------------------------------------
# 2. The launchers are readable in every state
# ---------------------------------------------------------------------------

# WCAG contrast of the computed text colour on the computed background (composited over the
# backgrounds below it, up through the shadow host to the page).
CONTRAST = """
el => {
  const parse = c => { const m = c.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const over = (top, below) => { const a = top[3]; return [0, 1, 2].map(i => top[i] * a + below[i] * (1 - a)).concat(1); };
  const layers = [];
  for (let node = el; node; node = node.parentElement || (node.getRootNode().host || null)) {
    layers.push(parse(getComputedStyle(node).backgroundColor));
  }
  let bg = [255, 255, 255, 1];
  for (const layer of layers.reverse()) bg = over(layer, bg);
  const style = getComputedStyle(el);
  const fg = over(parse(style.color), bg);
  const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  return {ratio: (hi + 0.05) / (lo + 0.05), color: style.color, background: style.backgroundColor,
          hover: el.matches(':hover'), focusVisible: el.matches(':focus-visible'), active: el.matches(':active')};
}
"""


@pytest.mark.parametrize("testid", ["chat-open", "cobrowse-start"])
def test_the_launchers_are_readable_in_every_state(server, customer, request, testid):
    customer.goto(server.customer_base + "/demo/")
    button = widget(customer).get_by_test_id(testid)
    expect(button).to_be_visible()
    customer.mouse.move(5, 300)
    states = {"normal": button.evaluate(CONTRAST)}
    button.hover()
    states["hover"] = button.evaluate(CONTRAST)
    assert states["hover"]["hover"]
    screenshot(request, **{f"customer_{testid}_hover": customer})
    customer.mouse.move(5, 300)
    button.focus()
    states["focus-visible"] = button.evaluate(CONTRAST)
    assert states["focus-visible"]["focusVisible"]
    screenshot(request, **{f"customer_{testid}_focus": customer})
    box = button.bounding_box()
    customer.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    customer.mouse.down()
    states["active"] = button.evaluate(CONTRAST)
    assert states["active"]["active"]
    screenshot(request, **{f"customer_{testid}_active": customer})
    customer.mouse.move(5, 300)
    customer.mouse.up()  # elsewhere: not a click
    if testid == "chat-open":
        # Hover changes the colours (so the hover state was measured), and stays readable.
        assert states["hover"]["background"] != states["normal"]["background"]
    for name, measured in states.items():
        assert measured["ratio"] >= 4.5, f"{testid} {name}: {measured}"


# ---------------------------------------------------------------------------
# 3. Notices speak to the customer, stay clear of the navigation, are announced
# ---------------------------------------------------------------------------

# Every text the widget shows, kept as it appears (notices are gone after a few seconds).
RECORD_TEXTS = """
() => {
  const root = document.querySelector('cobrowse-widget').shadowRoot;
  window.__shown = window.__shown || [];
  const note = () => {
    for (const el of root.querySelectorAll('*')) {
      if (el.localName === 'style' || !el.checkVisibility()) continue;
      for (const child of el.childNodes) {
        const text = child.nodeType === 3 ? child.data.trim() : '';
        if (text && !window.__shown.includes(text)) window.__shown.push(text);
      }
    }
  };
  note();
  new MutationObserver(note).observe(root, {subtree: true, childList: true, characterData: true, attributes: true});
}
"""


def test_notices_speak_to_the_customer_are_announced_and_leave_the_navigation_free(
    server, customer, agent_page, request
):
    code = start_cobrowse(customer, server.customer_base + "/demo/checkout/")
    customer.evaluate(RECORD_TEXTS)
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    notices = widget(customer).get_by_test_id("cobrowse-notices")
    joined = notices.get_by_role("status").filter(has_text="joined and can see this page")
    expect(joined).to_have_count(1)
    assert notices.get_attribute("aria-live") == "polite"
    screenshot(request, customer_joined=customer)

    header = customer.locator(".site-header").bounding_box()
    nav = customer.get_by_role("navigation", name="Main").bounding_box()
    topbar = customer.locator(".topbar").bounding_box()
    dock_top = widget(customer).get_by_test_id("cobrowse-session-id").bounding_box()["y"]

    def assert_clear(toast):
        box = toast.bounding_box()
        as_rect = lambda b: {  # noqa: E731
            "left": b["x"],
            "top": b["y"],
            "right": b["x"] + b["width"],
            "bottom": b["y"] + b["height"],
        }
        for name, other in (("header", header), ("nav", nav), ("topbar", topbar)):
            assert not overlap(as_rect(box), as_rect(other)), f"the notice covers the {name}"
        assert box["y"] + box["height"] <= dock_top, "the notice sits above the widget"
        assert box["y"] > 720 / 2, "in the bottom half, near the widget"

    assert_clear(joined)

    # Write mode, asked and approved; then the customer switches back.
    toggle = agent_page.get_by_test_id("write-mode-toggle")
    toggle.click()
    widget(customer).get_by_test_id("cobrowse-approve-write").click()
    allowed = notices.get_by_role("status").filter(has_text="You allowed write mode")
    expect(allowed).to_have_count(1)
    assert_clear(allowed)
    screenshot(request, customer_write_mode=customer)
    # Dismissable.
    allowed.get_by_role("button", name="Dismiss").click()
    expect(allowed).to_have_count(0)
    customer.mouse.move(5, 300)  # a notice under the pointer waits for it to leave
    widget(customer).get_by_test_id("cobrowse-write-toggle").click()
    expect(notices.get_by_role("status").filter(has_text="You switched back")).to_have_count(1)
    # Short-lived: the joined notice (a short text) has gone by itself.
    expect(joined).to_have_count(0, timeout=6000)

    # The customer ends co-browsing, then a chat of their own.
    widget(customer).get_by_test_id("cobrowse-exit").click()
    expect(notices.get_by_role("status").filter(has_text="You ended co-browsing.")).to_have_count(1)
    expect(agent_page.locator("#session-banner")).to_have_text("The customer ended co-browsing.")
    screenshot(request, customer_ended=customer)
    w = widget(customer)
    w.get_by_test_id("chat-open").click()
    w.get_by_test_id("chat-input").fill("Hello, a question about delivery")
    w.get_by_test_id("chat-send").click()
    expect(w.locator(".msg.customer:not(.pending)")).to_have_count(1)
    w.get_by_test_id("chat-end").click()
    expect(w.get_by_test_id("chat-log")).to_contain_text("You ended the chat.")
    screenshot(request, customer_chat_ended=customer)

    shown = customer.evaluate("window.__shown")
    for text in ("You allowed write mode", "You switched back", "You ended co-browsing."):
        assert any(text in s for s in shown), (text, shown)
    speaking_of = [s for s in shown if re.search(r"\bthe customer\b", s, re.I)]
    assert not speaking_of, f"texts shown to the customer speak of the customer: {speaking_of}"


# ---------------------------------------------------------------------------
# 4. Plurals
# ---------------------------------------------------------------------------


def agent_drops(customer: Page, agent_page: Page) -> str:
    agent_page.goto("about:blank")  # the workspace tab is gone, its sockets with it
    dropped = widget(customer).get_by_role("status").filter(has_text="connection dropped")
    expect(dropped).to_have_count(1)
    return dropped.inner_text()


def no_counted_brackets(text: str) -> None:
    assert "(s)" not in text and not re.search(r"\b1 \w+s\b", text), text


def test_the_agents_grace_period_reads_as_plural_minutes(server, customer, agent_page, request):
    code = live_session(server, customer, agent_page, "/demo/checkout/")
    text = agent_drops(customer, agent_page)
    screenshot(request, customer_dropped=customer)
    assert "They have 2 minutes to come back before co-browsing ends." in text, text
    no_counted_brackets(text)
    # The agent comes back to the same session, and leaves it.
    agent_page.goto(server.agent_base + "/workspace/")
    expect(agent_page.locator("#session-code")).to_have_text(code)
    agent_page.get_by_test_id("cobrowse-tab").click()
    leave(agent_page)


@pytest.fixture(scope="module")
def one_minute_server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("e2e-grace"), name="daphne-grace")
    srv.env["COBROWSE_AGENT_GRACE"] = "60"
    srv.start()
    yield srv
    srv.stop()


def test_a_one_minute_grace_period_reads_as_one_minute(
    one_minute_server, customer, agent_page, request
):
    live_session(one_minute_server, customer, agent_page, "/demo/checkout/")
    text = agent_drops(customer, agent_page)
    assert "They have 1 minute to come back before co-browsing ends." in text, text
    no_counted_brackets(text)
