"""A hostile customer page cannot run code in, navigate or break the agent's workspace.

The page (/demo/hostile/) carries script tags, javascript: URLs, inline handlers, a srcdoc iframe
with a script, CSS tricks, a meta refresh, a foreign <base href> and a 200 KB attribute. Its own
scripts run in the customer's tab (it is their page); none may run on the agent's side.
"""

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import join, login, mirror, screenshot, start_cobrowse, widget

pytestmark = pytest.mark.e2e

EVIL_HOST = "evil.example.net"
MIRROR_IFRAME = "document.querySelector('[data-testid=cobrowse-view] iframe')"


def csp_directives(header: str) -> dict[str, str]:
    return dict(([*d.strip().split(" ", 1), ""])[:2] for d in header.split(";") if d.strip())


def test_a_hostile_page_runs_no_code_on_the_agents_side(server, customer, agent_page, request):
    dialogs, evil_requests, navigations = [], [], []
    agent_page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    agent_page.on("framenavigated", lambda f: navigations.append(f.url))
    # Anything the agent's browser tries to fetch from the foreign host is caught here.
    agent_page.context.route(
        f"**://{EVIL_HOST}/**",
        lambda route: (evil_requests.append(route.request.url), route.abort()),
    )

    code = start_cobrowse(customer, server.customer_base + "/demo/hostile/")
    assert customer.evaluate("window.__pwned"), "the page's own scripts run for the customer"
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)

    view = mirror(agent_page)
    expect(view.locator("#hostile-title")).to_have_text("Hostile page")
    expect(view.locator("#cover")).to_be_visible()
    assert len(view.locator("#huge").get_attribute("data-huge")) == 200_000
    # The late script has run on the customer's page; its changes reach the mirror.
    expect(view.locator("#late-target")).to_contain_text("Late script ran", timeout=10_000)
    expect(view.locator("#late-img")).to_be_attached()

    # rrweb rebuilds the traps as they are (scripts aside): the sandbox and CSP must hold them.
    traps = agent_page.evaluate(
        f"""() => {{
            const doc = {MIRROR_IFRAME}.contentDocument;
            return [
                doc.querySelector('#js-link').getAttribute('href'),
                doc.querySelector('#bad-img').getAttribute('onerror'),
                doc.querySelector('#srcdoc-frame').getAttribute('srcdoc'),
                doc.querySelector('meta[http-equiv=refresh]').getAttribute('content'),
            ];
        }}"""
    )
    assert traps[0].startswith("javascript:") and "__pwned" in traps[1]
    assert "<script>" in traps[2] and "evil.example.net" in traps[3]

    # Try the traps from the agent's side: hover, click the javascript: links, submit the form.
    panel = agent_page.get_by_test_id("cobrowse-view")
    box = panel.bounding_box()
    agent_page.mouse.move(box["x"] + 200, box["y"] + 60)
    agent_page.evaluate(
        f"""() => {{
            const doc = {MIRROR_IFRAME}.contentDocument;
            // As if the page changed its refresh to "now": the mirror must stay put.
            const refresh = doc.createElement('meta');
            refresh.httpEquiv = 'refresh';
            refresh.content = '0; url=https://{EVIL_HOST}/now';
            doc.head.appendChild(refresh);
            for (const sel of ['#js-link', '#js-link-entity', '#js-submit', '#late-target']) {{
                const el = doc.querySelector(sel);
                if (el) el.click();
            }}
            doc.querySelector('#cover').dispatchEvent(new MouseEvent('mouseover'));
        }}"""
    )
    agent_page.wait_for_timeout(1500)
    expect(view.locator("#hostile-title")).to_have_text("Hostile page")  # the mirror stayed put

    # Nothing ran: not in the workspace, not in the mirror, not in the nested srcdoc frame.
    assert agent_page.evaluate("window.__pwned") is None
    assert agent_page.evaluate(f"{MIRROR_IFRAME}.contentWindow.__pwned") is None
    nested = agent_page.evaluate(
        f"""() => Array.from({MIRROR_IFRAME}.contentDocument.querySelectorAll('iframe'))
              .map(f => {{ try {{ return f.contentWindow.__pwned ?? null; }}
                           catch (e) {{ return 'cross-origin'; }} }})"""
    )
    assert all(value in (None, "cross-origin") for value in nested), nested
    assert dialogs == []
    assert agent_page.url == server.agent_base + "/workspace/"
    assert not [url for url in navigations if EVIL_HOST in url or url.startswith("javascript:")]
    assert evil_requests == [], "the CSP keeps the agent's browser off the foreign host"

    # The mirror is sandboxed without scripts; the workspace itself sends a strict CSP.
    sandbox = agent_page.locator("[data-testid=cobrowse-view] iframe").get_attribute("sandbox")
    assert "allow-scripts" not in sandbox.split() and "allow-same-origin" in sandbox.split()
    workspace = agent_page.request.get(server.agent_base + "/workspace/")
    csp = csp_directives(workspace.headers["content-security-policy"])
    assert csp["script-src"] == "'self'" and csp["object-src"] == "'none'"
    assert csp["base-uri"] == "'none'" and csp["frame-ancestors"] == "'none'"
    assert EVIL_HOST not in workspace.headers["content-security-policy"]
    screenshot(request, customer=customer, agent=agent_page)

    # The overlay covers only the mirror: the agent still works the workspace.
    expect(agent_page.get_by_test_id("zoom-1to1")).to_be_enabled()
    agent_page.get_by_test_id("zoom-1to1").click()
    expect(panel).to_have_attribute("data-scale", "1.000")
    agent_page.get_by_test_id("zoom-fit").click()
    agent_page.get_by_test_id("exit-session").click()
    expect(agent_page.locator("#session-status")).to_have_text("Ended")
    expect(
        widget(customer).get_by_role("status").filter(has_text="The agent ended co-browsing.")
    ).to_have_count(1)
    assert agent_page.url == server.agent_base + "/workspace/" and dialogs == []
