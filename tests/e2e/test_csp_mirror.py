"""The agent's browser sends nothing to a host the customer's page names.

A "foreign" server on 127.0.0.2 records every TCP connection and the request line it carried. The
pages are served by a real loopback server (a page Playwright fulfils itself counts as public
address space, and Chromium's local-network checks would block the foreign fetches, not the CSP).
"""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import join, login, mirror, start_cobrowse

pytestmark = pytest.mark.e2e


class ForeignHost:
    """Accepts TCP connections on 127.0.0.2; remembers each one and the first line it sent."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.2", 0))
        self.sock.listen(32)
        self.sock.settimeout(0.2)
        self.origin = f"http://127.0.0.2:{self.sock.getsockname()[1]}"
        self.connections: list[dict] = []
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @property
    def requests(self) -> list[str]:
        return [c["first_line"] for c in self.connections if c["first_line"]]

    def serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            seen = {"first_line": ""}
            self.connections.append(seen)
            threading.Thread(target=self.answer, args=(conn, seen), daemon=True).start()

    def answer(self, conn: socket.socket, seen: dict):
        with conn:
            conn.settimeout(5)
            try:
                data = conn.recv(1024)
                seen["first_line"] = data.split(b"\r\n", 1)[0].decode("latin1")
                if data:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass

    def close(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


class Pages:
    """A loopback HTTP server for fixed pages: {path: (body, headers)}."""

    def __init__(self, pages: dict[str, tuple[str, dict]]):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body, headers = pages.get(self.path, ("", {}))
                self.send_response(200 if body else 404)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body.encode())))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def naming(foreign: str) -> str:
    """Markup that makes a browser fetch from `foreign` in as many ways as CSP governs."""
    return f"""<link rel="stylesheet" href="{foreign}/style.css">
<link rel="manifest" href="{foreign}/manifest.json">
<link rel="icon" href="{foreign}/favicon.ico">
<style>
@font-face {{ font-family: x; src: url({foreign}/font.woff2); }}
.bg {{ font-family: x; background: url({foreign}/bg.png); }}
</style>
<p class="bg">text in a foreign font</p>
<iframe src="{foreign}/frame"></iframe>
<img src="{foreign}/img.png" alt="">
<picture><source srcset="{foreign}/source.png"><img src="data:," alt=""></picture>
<video src="{foreign}/video.mp4" autoplay muted></video>
<audio src="{foreign}/audio.mp3" autoplay></audio>
<object data="{foreign}/object"></object>
<embed src="{foreign}/embed">
<input type="image" src="{foreign}/input.png" alt="">"""


def probe_js(foreign: str) -> str:
    # Like the mirror: a sandboxed iframe whose document our own script builds, as rrweb does.
    return f"""
const frame = document.createElement('iframe');
frame.setAttribute('sandbox', 'allow-same-origin');
document.body.appendChild(frame);
const doc = frame.contentDocument;
for (const [tag, attr, path] of [
    ['img', 'src', '/mirror-img.png'], ['video', 'src', '/mirror-video.mp4'],
    ['embed', 'src', '/mirror-embed'], ['object', 'data', '/mirror-object'],
]) {{
    const el = doc.createElement(tag);
    el.setAttribute(attr, '{foreign}' + path);
    doc.body.appendChild(el);
}}
const style = doc.createElement('style');
style.textContent = "@font-face {{ font-family: y; src: url({foreign}/mirror-font.woff2); }}"
    + " body {{ font-family: y; background: url({foreign}/mirror-bg.png); }}";
doc.head.appendChild(style);
doc.body.append('mirror text');
try {{ new Worker('{foreign}/worker.js'); }} catch (e) {{}}
window.probeDone = true;
"""


def test_under_the_workspace_csp_the_agents_browser_fetches_nothing_foreign(server, agent_page):
    foreign = ForeignHost()
    login(agent_page, server.agent_base, "agent1")
    csp = agent_page.goto(server.agent_base + "/workspace/").headers["content-security-policy"]
    assert foreign.origin not in csp
    html = f"<!doctype html><html><head></head><body>{naming(foreign.origin)}"
    html += '<script src="/probe.js"></script></body></html>'
    pages = Pages(
        {
            "/probe/": (html, {"Content-Type": "text/html", "Content-Security-Policy": csp}),
            "/probe.js": (probe_js(foreign.origin), {"Content-Type": "text/javascript"}),
        }
    )
    console = []
    agent_page.on("console", lambda m: console.append(m.text))
    try:
        agent_page.goto(pages.origin + "/probe/")
        agent_page.wait_for_function("window.probeDone === true")
        time.sleep(1.5)  # time for late fetches
        assert foreign.requests == [], f"the agent's browser fetched: {foreign.requests}"
        assert any("Content Security Policy" in line for line in console)  # CSP did the blocking
        assert not [line for line in console if "Unrecognized" in line]  # no unknown directive
    finally:
        pages.close()
        foreign.close()


def test_the_mirror_of_a_page_naming_a_foreign_host_does_not_reach_it(server, customer, agent_page):
    foreign = ForeignHost()
    served: dict[str, tuple[str, dict]] = {}
    pages = Pages(served)  # the company's site: an origin of its own, with the widget
    try:
        out = server.manage("cobrowse_site", "--name", "Probe", "--origin", pages.origin)
        key = out.strip().splitlines()[-1].removeprefix("SITE_KEY=")
        widget = server.customer_base + "/static/cobrowse/widget.js"
        served["/page/"] = (
            f"""<!doctype html><html><head><title>Probe</title></head><body>
<h1 id="probe-title">Probe</h1>{naming(foreign.origin)}
<script src="{widget}" data-site="{key}" async></script></body></html>""",
            {"Content-Type": "text/html"},
        )
        time.sleep(5)  # every worker picks up a new site's origins within 5 s
        code = start_cobrowse(customer, pages.origin + "/page/")
        time.sleep(1.5)  # the customer's own browser loads what its page names: not counted
        before = len(foreign.connections)
        login(agent_page, server.agent_base, "agent1")
        join(agent_page, code)
        expect(mirror(agent_page).locator("#probe-title")).to_have_text("Probe")
        time.sleep(2)
        reached = foreign.connections[before:]
        assert reached == [], f"the agent's browser reached the foreign host: {reached}"
        agent_page.get_by_test_id("exit-session").click()  # agent1 is free for the next test
        expect(agent_page.locator("#session-status")).to_have_text("Ended")
    finally:
        pages.close()
        foreign.close()
