"""Shared helpers for the leak corpus and the control corpus (tests/e2e/test_*_corpus.py).

Pages are served on the company's own origin (server.customer_base) by Playwright routing, so
daphne never sees them: whatever of a page reaches the server, its database or its log got there
through the widget. Rules come from the demo site that seed_demo creates, plus the few the corpus
adds through the REST API as the administrator.
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect

from tests.e2e.helpers import text_of

ADMIN = ("admin", "admin-demo-pass")
ERROR_CODES_REFUSED = {"restricted", "refused_by_page", "wrong_mode", "foreign_url"}
# A 1x1 transparent PNG for every routed image.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
MIRROR_IFRAME = "[data-testid=cobrowse-view] iframe"


# ---------------------------------------------------------------------------------------------
# The server: the demo site's key and rules through the REST API
# ---------------------------------------------------------------------------------------------


def demo_site_key(server) -> str:
    html = urllib.request.urlopen(server.customer_base + "/demo/", timeout=10).read().decode()
    match = re.search(r'data-site="([^"]+)"', html)
    assert match, "the demo home page embeds the widget with data-site"
    return match.group(1)


def api(server, method: str, path: str, body: dict | None = None):
    """The REST API as the administrator (HTTP basic authentication: no CSRF token needed)."""
    token = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    request = urllib.request.Request(
        server.customer_base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return json.loads(text) if text else None


def ensure_rule(
    server, site: str, selector: str, kind: str, url_pattern: str = "", *, restrict=False
):
    """Create the rule once per server (both corpus files may ask for it); return its id."""
    endpoint = "/api/v1/restriction-rules/" if restrict else "/api/v1/masking-rules/"
    listed = api(server, "GET", endpoint)
    rules = listed["results"] if isinstance(listed, dict) else listed
    for rule in rules:
        if (rule["site"], rule["selector"], rule["url_pattern"]) == (site, selector, url_pattern):
            if rule["kind"] != kind or not rule["enabled"]:
                api(server, "PATCH", f"{endpoint}{rule['id']}/", {"kind": kind, "enabled": True})
            return rule["id"]
    created = api(
        server,
        "POST",
        endpoint,
        {
            "site": site,
            "selector": selector,
            "kind": kind,
            "url_pattern": url_pattern,
            "description": "leak/control corpus",
        },
    )
    return created["id"]


# ---------------------------------------------------------------------------------------------
# Pages on the site's own origin
# ---------------------------------------------------------------------------------------------


def page_html(server, key: str, body: str, script: str = "", title: str = "Corpus") -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title>"
        "<style>body{font:13px sans-serif;margin:6px}.row{margin:1px 0}"
        "input,textarea,select,button{font:inherit}p{margin:3px 0}</style></head>"
        f"<body>{body}<script>{script}</script>"
        f'<script src="{server.customer_base}/static/cobrowse/widget.js" data-site="{key}" '
        "async></script></body></html>"
    )


@dataclass
class Routes:
    """Everything under /corpus/ on the customer's origin, fulfilled in the customer's browser."""

    pages: dict[str, str] = field(default_factory=dict)  # path prefix -> HTML (longest wins)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (method, url, body)
    # Paths answered 204 No Content and recorded: a navigation that gets 204 stays on the page,
    # so one attempt that gets through does not tear down the session the other rows share.
    record_prefixes: tuple[str, ...] = ()

    def handle(self, route: Route) -> None:
        request = route.request
        path = urlsplit(request.url).path
        if self.record_prefixes and path.startswith(self.record_prefixes):
            self.requests.append((request.method, request.url, request.post_data or ""))
            route.fulfill(status=204, body="")
            return
        if path.startswith("/corpus/img/"):
            route.fulfill(status=200, content_type="image/png", body=PNG)
            return
        for prefix in sorted(self.pages, key=len, reverse=True):
            if path.startswith(prefix):
                route.fulfill(status=200, content_type="text/html", body=self.pages[prefix])
                return
        route.fulfill(status=404, content_type="text/plain", body="no such corpus page")


def serve(customer: Page, server, routes: Routes) -> None:
    """Route /corpus/ on the site's origin to `routes` in the customer's browser.

    A response fulfilled by Playwright has no IP address, so Chromium's Local Network Access
    checks take the page for a public one and block its WebSocket to the loopback server
    (net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS). The page really is on the same host as the
    server: grant the permission a customer's browser would not need then."""
    customer.context.grant_permissions(["local-network-access"], origin=server.customer_base)
    customer.route(server.customer_base + "/corpus/**", routes.handle)


# ---------------------------------------------------------------------------------------------
# Every WebSocket frame both ways on both pages
# ---------------------------------------------------------------------------------------------


@dataclass
class Frame:
    page: str  # "customer" or "agent"
    url: str
    sent: bool  # sent by that page (else received)
    text: str

    @property
    def where(self) -> str:
        path = urlsplit(self.url).path
        return f"{self.page} {'sent' if self.sent else 'received'} on {path}"


class Wire:
    def __init__(self) -> None:
        self.frames: list[Frame] = []

    def attach(self, page: Page, name: str) -> None:
        def on_socket(ws):
            url = ws.url
            ws.on("framesent", lambda f: self.frames.append(Frame(name, url, True, text_of(f))))
            ws.on(
                "framereceived", lambda f: self.frames.append(Frame(name, url, False, text_of(f)))
            )

        page.on("websocket", on_socket)

    def mark(self) -> int:
        return len(self.frames)

    def text(self, start: int = 0, end: int | None = None) -> str:
        return "\n".join(f.text for f in self.frames[start:end])

    def where(self, secret: str, start: int = 0, end: int | None = None) -> list[str]:
        """Which sockets carried the secret, each with a short excerpt of the first frame."""
        seen: dict[str, str] = {}
        for frame in self.frames[start:end]:
            at = frame.text.find(secret)
            if at >= 0 and frame.where not in seen:
                seen[frame.where] = excerpt(frame.text, at, len(secret))
        return [f"{where}: ...{text}..." for where, text in seen.items()]

    def agent_events(self, start: int = 0, end: int | None = None) -> Iterator[dict]:
        """rrweb events as the agent's page received them (events frames and reassembled chunks)."""
        return self.events("agent", False, "/ws/agent/", start, end)

    def customer_events(self, start: int = 0, end: int | None = None) -> Iterator[dict]:
        """rrweb events as the widget sent them, before the server's guard."""
        return self.events("customer", True, "/ws/customer/", start, end)

    def events(self, page: str, sent: bool, path: str, start=0, end=None) -> Iterator[dict]:
        chunks: dict[str, list[str]] = {}
        for frame in self.frames[start:end]:
            if frame.page == page and frame.sent == sent and path in frame.url:
                yield from _events_of(frame.text, frame.url, chunks)


def _events_of(text: str, key: str, chunks: dict[str, list[str]]) -> Iterator[dict]:
    try:
        data = json.loads(text)
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    if data.get("type") == "chunk":
        parts = chunks.setdefault(key, [])
        if data.get("part") == 0:
            parts.clear()
        parts.append(str(data.get("data", "")))
        if data.get("last"):
            whole = "".join(parts)
            parts.clear()
            yield from _events_of(whole, key, chunks)
        return
    if data.get("type") == "events" and isinstance(data.get("events"), list):
        for event in data["events"]:
            if isinstance(event, dict):
                yield event


def excerpt(text: str, at: int, length: int, around: int = 60) -> str:
    return text[max(0, at - around) : at + length + around].replace("\n", " ")


# ---------------------------------------------------------------------------------------------
# rrweb trees: node ids by HTML id, or by an unmasked wrapper when masking strips attributes
# ---------------------------------------------------------------------------------------------


def walk(node) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for child in node.get("childNodes") or []:
            yield from walk(child)


def serialized_trees(events: Iterable[dict]) -> Iterator[dict]:
    """Every serialized subtree: full snapshots and nodes added by mutations."""
    for event in events:
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        if event.get("type") == 2 and isinstance(data.get("node"), dict):
            yield data["node"]
        elif event.get("type") == 3 and data.get("source") == 0:
            for add in data.get("adds") or []:
                if isinstance(add, dict) and isinstance(add.get("node"), dict):
                    yield add["node"]


def ids_inside(trees: Iterable[dict], attr: str, value: str, tag: str | None = None) -> set[int]:
    """Node ids of the elements (of `tag`, or all) inside the element whose `attr` is `value`."""
    found: set[int] = set()
    for tree in trees:
        for node in walk(tree):
            if (node.get("attributes") or {}).get(attr) == value:
                for inner in walk(node):
                    if inner is node or inner.get("type") != 2:
                        continue
                    if tag is None or str(inner.get("tagName", "")).lower() == tag:
                        if isinstance(inner.get("id"), int):
                            found.add(inner["id"])
    return found


def node_id(tree: dict, html_id: str, slot: tuple[str, str] | None = None) -> int | None:
    """rrweb id of the element with this HTML id; failing that (a masked element may lose its
    attributes), of the first `tag` element inside the wrapper whose data-slot is `slot[0]`."""
    for node in walk(tree):
        if (node.get("attributes") or {}).get("id") == html_id:
            return node.get("id")
    if slot:
        found = ids_inside([tree], "data-slot", slot[0], slot[1])
        ordered = [n["id"] for n in walk(tree) if n.get("id") in found]
        return ordered[0] if ordered else None
    return None


# ---------------------------------------------------------------------------------------------
# Reading elements on the customer's page and in the agent's mirror
# ---------------------------------------------------------------------------------------------

# A path is CSS selectors joined by " >>> ": each step goes into the element's open shadow root or
# its iframe's document. The same path reads the customer's page and the mirror.
RESOLVE_JS = """
(root, path) => {
  let el = null;
  const parts = path.split(' >>> ');
  for (let i = 0; i < parts.length; i++) {
    if (!root) return null;
    el = root.querySelector(parts[i]);
    if (!el) return null;
    if (i < parts.length - 1) root = el.shadowRoot || el.contentDocument;
  }
  return el;
}
"""

READ_CUSTOMER_JS = f"""
([path]) => {{
  const el = ({RESOLVE_JS})(document, path);
  if (!el) return null;
  return [el.value ?? '', el.textContent ?? '', el.outerHTML].join('\\n');
}}
"""

READ_MIRROR_JS = f"""
([path, prop]) => {{
  const frame = document.querySelector('{MIRROR_IFRAME}');
  const doc = frame && frame.contentDocument;
  if (!doc) return {{missing: 'no mirror iframe'}};
  const el = ({RESOLVE_JS})(doc, path);
  if (!el) return {{missing: path}};
  return {{value: prop === 'text' ? el.textContent : el.value}};
}}
"""


def locate(page: Page, path: str):
    """A Playwright locator for a path: iframes by frame_locator (Playwright's CSS already pierces
    open shadow roots, so a shadow step is just a descendant combinator)."""
    parts = path.split(" >>> ")
    scope = page
    css: list[str] = []
    for part in parts[:-1]:
        if part.lstrip().startswith("iframe"):
            scope = scope.frame_locator(" ".join([*css, part]))
            css = []
        else:
            css.append(part)
    return scope.locator(" ".join([*css, parts[-1]]))


def only_stars(value: str) -> bool:
    return set(value.strip()) <= {"*"}


# ---------------------------------------------------------------------------------------------
# The session: Start Co-browse, join, sync, exit
# ---------------------------------------------------------------------------------------------


def click_start(customer: Page) -> str:
    """Click Start Co-browse on the page already open; return the ID as the agent types it."""
    customer.get_by_test_id("cobrowse-start").click()
    shown = customer.get_by_test_id("cobrowse-session-id")
    expect(shown).to_have_text(re.compile(r"^\d{3} \d{3} \d{3}$"))
    return shown.inner_text()


def mirror_has(agent_page: Page, selector: str, timeout: float = 15_000) -> bool:
    try:
        expect(agent_page.frame_locator(MIRROR_IFRAME).locator(selector)).to_be_attached(
            timeout=timeout
        )
        return True
    except AssertionError:
        return False


def sync(customer: Page, agent_page: Page, selector: str, token: str, timeout=8_000) -> bool:
    """The customer types a token into a plain field; True once the mirror shows it, so that
    everything the page did before has crossed (frames are ordered)."""
    customer.locator(selector).fill(token)
    try:
        expect(agent_page.frame_locator(MIRROR_IFRAME).locator(selector)).to_have_value(
            token, timeout=timeout
        )
        return True
    except AssertionError:
        return False


def approve_write_mode(agent_page: Page, customer: Page, timeout: float = 10.0) -> None:
    """The agent asks for write mode in the workspace; the customer clicks Allow in the widget.
    A click in the dialog's first moment may not count as consent (issue 10): click until the
    workspace shows write mode."""
    toggle = agent_page.get_by_test_id("write-mode-toggle")
    toggle.click()
    allow = customer.locator("cobrowse-widget").get_by_test_id("cobrowse-approve-write")
    expect(allow).to_be_visible()
    deadline = time.monotonic() + timeout
    while toggle.get_attribute("aria-checked") != "true":
        assert time.monotonic() < deadline, "the workspace never showed write mode"
        if allow.is_visible():
            allow.click()
        agent_page.wait_for_timeout(250)


def end_session(agent_page: Page) -> None:
    button = agent_page.get_by_test_id("exit-session")
    if button.is_visible() and button.is_enabled():
        button.click()
        expect(agent_page.locator("#session-status")).to_have_text("Ended")


@dataclass
class Report:
    """Failures collected row by row, asserted at the end with the whole list."""

    title: str
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, row: str, message: str) -> None:
        self.failures.append(f"[{row}] {message}")

    def check(self, ok: bool, row: str, message: str | Callable[[], str]) -> bool:
        if not ok:
            self.fail(row, message() if callable(message) else message)
        return ok

    def failed_rows(self) -> list[str]:
        return sorted({f[1 : f.index("]")] for f in self.failures})

    def render(self) -> str:
        lines = [f"{self.title}: {len(self.failures)} failure(s) in rows {self.failed_rows()}"]
        lines += self.failures
        if self.notes:
            lines += ["notes:", *self.notes]
        return "\n".join(lines)
