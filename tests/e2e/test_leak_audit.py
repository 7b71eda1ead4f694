"""Leak audit: known secrets typed into every kind of sensitive field never leave the customer's
browser unmasked: not in any WebSocket frame (both pages), not in any database row, not in the
server's log. Rerun on its own with: scripts/test.sh tests/e2e/test_leak_audit.py
"""

import json
import re
import sqlite3

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import join, login, mirror, screenshot, start_cobrowse, text_of

pytestmark = pytest.mark.e2e

# One distinct secret per kind of sensitive field on /demo/privacy/.
TYPED = {
    "text input masked by a rule": ("#lab-rule", "SECRETRULE1"),
    "password": ("#lab-password", "SECRETPASSWORD2"),
    "password toggled to text": ("#lab-toggle", "SECRETTOGGLE3"),
    "textarea": ("#lab-notes", "SECRETNOTES5"),
    "field inside an open shadow root": ("#lab-shadow-input", "SECRETSHADOW10"),
    "field added later by script": ("#lab-later", "SECRETLATER11"),
    "one-time code": ("#lab-otp", "SECRETOTP15"),
    "restricted field": ("#lab-restricted", "SECRETRESTRICTED16"),
}
BY_SCRIPT = {
    "hidden input set by script": ("#lab-hidden", "SECRETHIDDEN4"),
    "input whose value is set by script": ("#lab-scripted", "SECRETSCRIPTED12"),
}
SECRETS = [
    *(s for _, s in TYPED.values()),
    *(s for _, s in BY_SCRIPT.values()),
    "SECRETSELECT6",  # select: the chosen option's value
    "Secret select six",  # and its label
    "SECRETRADIO7",  # radio values
    "SECRETCHECK8",  # checkbox value
    "SECRETEDIT9",  # contenteditable
    "SECRETTEXT13",  # text masked by a rule
    "SECRETIMAGE14",  # an image (its content and alt)
]


def test_no_secret_reaches_the_agent_the_wire_the_database_or_the_logs(
    server, customer, agent_page, request
):
    wire: list[str] = []
    for page in (customer, agent_page):
        page.on(
            "websocket",
            lambda ws: (
                ws.on("framesent", lambda f: wire.append(text_of(f))),
                ws.on("framereceived", lambda f: wire.append(text_of(f))),
            ),
        )
    code = start_cobrowse(customer, server.customer_base + "/demo/privacy/")
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    view = mirror(agent_page)
    expect(view.locator("#lab-rule")).to_be_visible()
    customer.wait_for_selector("#lab-later")

    for selector, secret in TYPED.values():
        customer.locator(selector).fill(secret)
    customer.click("#lab-show")  # the password becomes type=text ...
    customer.locator("#lab-toggle").press_sequentially("MORE")  # ... and the customer goes on
    for selector, secret in BY_SCRIPT.values():
        customer.evaluate(
            "([s, v]) => { document.querySelector(s).value = v; }", [selector, secret]
        )
    customer.select_option("#lab-select", "SECRETSELECT6")
    customer.check("#lab-radio-b")
    customer.check("#lab-check")
    customer.click("#lab-editable")
    customer.keyboard.type("SECRETEDIT9")
    customer.evaluate("document.getElementById('lab-text').textContent = 'SECRETTEXT13'")
    # The customer's own page keeps every value: masking is only for the agent.
    expect(customer.locator("#lab-rule")).to_have_value("SECRETRULE1")

    # The agent's mirror shows asterisks, grey areas and boxes.
    # Masks do not tell the value's length: every one is ****.
    expect(view.locator("#lab-rule")).to_have_value("****")
    expect(view.locator("#lab-toggle")).to_have_value("****")
    expect(view.locator("#lab-editable")).to_have_text("****")
    expect(view.locator("#lab-text")).to_have_text("****")
    expect(view.locator("#lab-restricted")).to_have_value("****")
    image = view.locator("img.private-image")  # rrweb keeps only the class of a blocked node
    assert image.get_attribute("src") is None
    assert image.evaluate("i => getComputedStyle(i).backgroundColor") == "rgb(208, 213, 221)"
    assert image.evaluate("i => getComputedStyle(i).outlineColor") == "rgb(124, 58, 237)"
    delete = view.locator("#lab-delete")
    assert delete.evaluate("b => getComputedStyle(b).outlineColor") == "rgb(22, 163, 74)"
    assert view.locator("#lab-notes").evaluate("t => getComputedStyle(t).outlineColor") == (
        "rgb(124, 58, 237)"
    )
    customer.wait_for_timeout(500)  # let the last batches cross
    screenshot(request, customer=customer, agent=agent_page)

    # Hovering a restricted control shows the alert; clicking it does nothing.
    agent_page.get_by_test_id("zoom-1to1").click()
    customer.evaluate("document.getElementById('lab-delete').scrollIntoView({block: 'center'})")
    expect(agent_page.get_by_test_id("url-bar")).to_be_visible()
    agent_page.wait_for_function(
        "() => { const f = document.querySelector('[data-testid=cobrowse-view] iframe');"
        " const b = f.contentDocument.getElementById('lab-delete').getBoundingClientRect();"
        " return b.top > 0 && b.bottom < f.clientHeight; }"
    )
    box = delete.bounding_box()
    agent_page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    alert = agent_page.get_by_test_id("restricted-alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Restricted control")
    agent_page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(agent_page.get_by_test_id("agent-click")).to_have_count(0)
    screenshot(request, agent_hover=agent_page)

    # Even straight over the socket, the server refuses commands on restricted and masked nodes.
    ids = node_ids(wire, {"lab-delete", "lab-restricted", "lab-rule", "lab-submit"})
    refusals = agent_page.evaluate(
        """([code, ids]) => new Promise((resolve) => {
            const ws = new WebSocket(`ws://${location.host}/ws/agent/${code}/`);
            const errors = [];
            ws.onmessage = (m) => {
              // A binary message is a deflated page frame (frontend/deflate.js).
              const data = typeof m.data === "string" ? JSON.parse(m.data) : {type: "events"};
              if (data.type === "events" && !ws.sent) {
                ws.sent = true;
                for (const id of ids) {
                  ws.send(JSON.stringify({type: "click", id, x: 1, y: 1}));
                  ws.send(JSON.stringify({type: "input", id, text: "typed by agent"}));
                }
              }
              if (data.type === "error") errors.push(data.code);
              if (errors.length === ids.length * 2) { ws.close(); resolve(errors); }
            };
            setTimeout(() => resolve(errors), 5000);
        })""",
        [code.replace(" ", ""), list(ids.values())],
    )
    assert refusals == ["restricted"] * (len(ids) * 2)
    expect(customer.locator("#lab-restricted")).to_have_value("SECRETRESTRICTED16")

    agent_page.get_by_test_id("exit-session").click()
    expect(agent_page.locator("#session-status")).to_have_text("Ended")

    # Every frame, every database row, every log line.
    wire_text = "\n".join(wire)
    assert len(wire) > 10 and "lab-rule" in wire_text, "the capture saw the session's frames"
    rows = database_rows(server.env["SQLITE_PATH"])
    assert code.replace(" ", "") in rows, "the dump includes the session's own row"
    log = server.log_path.read_text()
    for secret in SECRETS:
        assert secret not in wire_text, f"{secret} crossed the wire"
        assert secret not in rows, f"{secret} is in the database"
        assert secret not in log, f"{secret} is in the server log"


def node_ids(frames: list[str], wanted: set[str]) -> dict[str, int]:
    """rrweb ids of elements by their HTML id, read from the snapshots the agent received."""
    found: dict[str, int] = {}

    def walk(node):
        if isinstance(node, dict):
            html_id = (node.get("attributes") or {}).get("id")
            if html_id in wanted:
                found[html_id] = node["id"]
            for child in node.get("childNodes") or []:
                walk(child)

    for frame in frames:
        if '"type":"events"' not in frame:
            continue
        for event in json.loads(frame)["events"]:
            if event.get("type") == 2:
                walk(event["data"]["node"])
    assert set(found) == wanted
    return found


def database_rows(path: str) -> str:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        dump = []
        for table in tables:
            if re.fullmatch(r"[A-Za-z0-9_]+", table):
                dump.extend(repr(row) for row in db.execute(f"SELECT * FROM {table}"))
        return "\n".join(dump)
    finally:
        db.close()
