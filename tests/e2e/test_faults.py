"""Faults, end to end: a customer reload, the agent's network drop, a daphne restart on PostgreSQL
and Redis, and a Redis restart under load. Each side must recover by itself, in the same session,
with the page resynced by a fresh snapshot and no chat message lost."""

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.helpers import join, login, mirror, screenshot, start_cobrowse, widget
from tests.support import free_port

pytestmark = pytest.mark.e2e

PG_BIN = Path("/usr/lib/postgresql/15/bin")
RECOVERY_TIMEOUT = 25_000  # ms: clients back off up to 10 s between attempts


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def wait_for_port(port: int, *, up: bool, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            if up:
                return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not go {'up' if up else 'down'} within {timeout} s")


class RedisServer:
    """A private redis-server that a test can kill and start again on the same port."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.fail("redis-server is not installed: run scripts/test.sh, which installs it")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, up=True)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        wait_for_port(self.port, up=False)


class Postgres:
    """A private PostgreSQL 15 cluster on loopback, run as the postgres user (we may be root)."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.fail(
                f"PostgreSQL 15 server binaries are missing ({PG_BIN}/initdb): install the "
                "Debian package postgresql (scripts/test.sh does)"
            )
        # Not under pytest's tmp dirs: those are private to root, and postgres must reach this.
        self.dir = Path(tempfile.mkdtemp(prefix="cobrowse-pg-"))
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def run(self, *args: str) -> None:
        result = subprocess.run(
            [*self.as_postgres, *args], capture_output=True, text=True, timeout=60
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        data = str(self.dir / "data")
        self.run(str(PG_BIN / "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        self.run(
            str(PG_BIN / "pg_ctl"), "-D", data, "-l", str(self.dir / "log"), "-o", options, "-w",
            "start",
        )  # fmt: skip

    def stop(self) -> None:
        self.run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


class CuttableProxy:
    """A loopback TCP forwarder in front of daphne whose connections a test can cut, like a
    network drop: open sockets die without a close frame and new ones fail until restored.

    (Playwright's set_offline does not close WebSockets that are already open in Chromium.)"""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.down = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if self.down:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self.lock:
                self.sockets |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.down = True
        with self.lock:
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self.sockets.clear()

    def restore(self) -> None:
        self.down = False

    def close(self) -> None:
        self.cut()
        self.listener.close()


def session_row(server: Server, code: str) -> dict:
    """The session as the database has it (through manage.py, on SQLite or PostgreSQL)."""
    script = (
        "import json; from sessions_app.models import CobrowseSession as S; "
        f"s = S.objects.get(code='{code}'); "
        "print(json.dumps({'code': s.code, 'status': s.status, 'agent': s.agent.username "
        "if s.agent else None, 'url': s.current_url}))"
    )
    return json.loads(server.manage("shell", "-c", script).strip().splitlines()[-1])


def chat_texts(server: Server) -> list[list[str]]:
    """Every chat message stored, as [sender, text], in order."""
    script = (
        "import json; from sessions_app.models import ChatMessage as M; "
        "print(json.dumps([[m.sender, m.text] for m in M.objects.order_by('created', 'pk')]))"
    )
    return json.loads(server.manage("shell", "-c", script).strip().splitlines()[-1])


def chat_then_cobrowse(server: Server, customer: Page, agent_page: Page, moment: str):
    """The customer chats, agent1 accepts, both say something, then the customer starts
    co-browse from the chat and the agent's Co-browse tab opens on it."""
    customer.goto(server.customer_base + "/demo/checkout/")
    w = widget(customer)
    w.get_by_test_id("chat-open").click()
    w.get_by_test_id("chat-input").fill(f"Customer: before {moment}")
    w.get_by_test_id("chat-send").click()
    login(agent_page, server.agent_base, "agent1")
    agent_page.get_by_test_id("chats-tab").click()
    agent_page.get_by_test_id("accept-chat").click()
    transcript = agent_page.get_by_test_id("transcript")
    chat_log = w.get_by_test_id("chat-log")
    expect(transcript).to_contain_text(f"Customer: before {moment}")
    agent_page.get_by_test_id("chat-input").fill(f"Agent: before {moment}")
    agent_page.get_by_test_id("chat-send").click()
    expect(chat_log).to_contain_text(f"Agent: before {moment}")
    w.get_by_test_id("cobrowse-start").click()
    expect(w.get_by_test_id("cobrowse-session-id")).to_have_text(re.compile(r"^\d{3} \d{3} \d{3}$"))
    code = w.get_by_test_id("cobrowse-session-id").inner_text()
    expect(agent_page.locator("#session-code")).to_have_text(code)
    expect(mirror(agent_page).locator("#name")).to_be_visible()
    return code, transcript, chat_log


def chat_during_outage(customer: Page, agent_page: Page, moment: str) -> None:
    w = widget(customer)
    w.get_by_test_id("chat-input").fill(f"Customer: typed while {moment}")
    w.get_by_test_id("chat-send").click()
    agent_page.get_by_test_id("chats-tab").click()
    agent_page.get_by_test_id("chat-input").fill(f"Agent: typed while {moment}")
    agent_page.get_by_test_id("chat-send").click()
    agent_page.get_by_test_id("cobrowse-tab").click()


def expect_chat_delivered(server, transcript, chat_log, messages: list[str]) -> None:
    """Every message on both screens, and stored exactly once."""
    for text in messages:
        expect(transcript).to_contain_text(text, timeout=RECOVERY_TIMEOUT)
        expect(chat_log).to_contain_text(text, timeout=RECOVERY_TIMEOUT)
    stored = [text for _sender, text in chat_texts(server)]
    for text in messages:
        assert stored.count(text) == 1, (text, stored)


def set_heading(page: Page, text: str) -> None:
    page.evaluate("t => { document.querySelector('h1').textContent = t; }", text)


def exit_if_live(agent_page: Page) -> None:
    """Leave the agent free for the next test, as an agent would."""
    agent_page.get_by_test_id("cobrowse-tab").click()
    button = agent_page.get_by_test_id("exit-session")
    if button.is_visible() and button.is_enabled():
        button.click()
        expect(agent_page.locator("#session-status")).to_have_text("Ended")


@pytest.fixture
def live(server, customer, agent_page, request):
    """agent1 co-browses the customer's checkout page."""
    code = start_cobrowse(customer, server.customer_base + "/demo/checkout/")
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    expect(mirror(agent_page).locator("#name")).to_be_visible()
    yield code
    exit_if_live(agent_page)


# ---------------------------------------------------------------------------
# Customer reload
# ---------------------------------------------------------------------------


def test_a_customer_reload_resumes_the_same_session_with_a_fresh_page_within_2_s(
    server, customer, agent_page, live, request
):
    set_heading(customer, "Only on the page before the reload")
    expect(mirror(agent_page).locator("h1")).to_have_text("Only on the page before the reload")

    customer.reload(wait_until="load")
    loaded = time.monotonic()
    set_heading(customer, "Changed after the reload")
    expect(mirror(agent_page).locator("h1")).to_have_text("Changed after the reload", timeout=5000)
    resumed = time.monotonic() - loaded
    print(f"\ncustomer reload: mirror resumed {resumed * 1000:.0f} ms after the load event")
    screenshot(request, customer=customer, agent=agent_page)
    assert resumed < 2.0, f"the mirror took {resumed:.2f} s to resume after the reload"

    expect(widget(customer).get_by_test_id("cobrowse-session-id")).to_have_text(live)
    expect(agent_page.locator("#session-code")).to_have_text(live)
    expect(agent_page.locator("#session-status")).to_have_text("Live")
    customer.fill("#name", "Typed after the reload")
    expect(mirror(agent_page).locator("#name")).to_have_value("Typed after the reload")
    row = session_row(server, live.replace(" ", ""))
    assert (row["status"], row["agent"]) == ("active", "agent1")


# ---------------------------------------------------------------------------
# The agent's network drops
# ---------------------------------------------------------------------------


def test_the_agents_network_drop_rejoins_the_same_session_and_no_one_else_can_take_it(
    server, customer, agent_page, second_agent_page, request
):
    # The agent reaches the server through a network path that the test can cut.
    proxy = CuttableProxy(server.port)
    try:
        code = start_cobrowse(customer, server.customer_base + "/demo/checkout/")
        login(agent_page, f"http://localhost:{proxy.port}", "agent1")
        join(agent_page, code)
        expect(mirror(agent_page).locator("#name")).to_be_visible()

        proxy.cut()
        expect(agent_page.locator("#session-status")).to_have_text("Reconnecting…")
        expect(
            widget(customer).get_by_role("status").filter(has_text="The agent's connection dropped")
        ).to_have_count(1)
        # Meanwhile the session stays the agent's: a second agent is refused.
        login(second_agent_page, server.agent_base, "agent2")
        join(second_agent_page, code)
        expect(second_agent_page.locator("#join-error")).to_contain_text(
            "Another agent is already in this session"
        )
        set_heading(customer, "Changed while the agent was offline")
        time.sleep(2)  # a drop of a few seconds, while the workspace keeps retrying
        screenshot(request, customer_during=customer, agent_during=agent_page)

        proxy.restore()
        back = time.monotonic()
        # Resynced: the change made while the agent was away arrives with a fresh snapshot.
        expect(mirror(agent_page).locator("h1")).to_have_text(
            "Changed while the agent was offline", timeout=RECOVERY_TIMEOUT
        )
        print(f"\nagent network drop: mirror back {time.monotonic() - back:.1f} s after restore")
        expect(agent_page.locator("#session-code")).to_have_text(code)
        expect(agent_page.locator("#session-status")).to_have_text("Live")
        customer.fill("#name", "Typed after the agent came back")
        expect(mirror(agent_page).locator("#name")).to_have_value("Typed after the agent came back")
        screenshot(request, customer=customer, agent=agent_page)
        exit_if_live(agent_page)
    finally:
        proxy.close()


def test_an_agent_who_closes_the_workspace_reopens_it_on_the_same_session(
    server, customer, agent_page, live, request
):
    agent_page.goto("about:blank")  # the workspace tab is gone, its sockets with it
    expect(
        widget(customer).get_by_role("status").filter(has_text="The agent's connection dropped")
    ).to_have_count(1)
    set_heading(customer, "Changed while the workspace was closed")

    page = agent_page
    page.goto(server.agent_base + "/workspace/")
    # The workspace resumes the agent's own live session by itself.
    expect(page.locator("#session-code")).to_have_text(live)
    expect(mirror(page).locator("h1")).to_have_text("Changed while the workspace was closed")
    customer.fill("#name", "Typed after the workspace came back")
    expect(mirror(page).locator("#name")).to_have_value("Typed after the workspace came back")
    screenshot(request, customer=customer, agent=page)
    exit_if_live(page)


# ---------------------------------------------------------------------------
# daphne restarts, on PostgreSQL and Redis
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory):
    """daphne on a private PostgreSQL 15 and a private redis-server, as in a scale-out install."""
    tmp = tmp_path_factory.mktemp("faults-pg")
    postgres = Postgres()
    redis_server = RedisServer()
    postgres.start()
    redis_server.start()
    server = Server(tmp, redis_url=redis_server.url, database_url=postgres.url, name="daphne-pg")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        redis_server.kill()
        postgres.stop()


def test_a_daphne_restart_on_postgresql_and_redis_keeps_the_session_and_every_chat_message(
    pg_server, customer, agent_page, request
):
    server = pg_server
    code, transcript, chat_log = chat_then_cobrowse(server, customer, agent_page, "the restart")
    customer.fill("#name", "Typed before the restart")
    expect(mirror(agent_page).locator("#name")).to_have_value("Typed before the restart")
    screenshot(request, customer_before=customer, agent_before=agent_page)

    server.stop()
    stopped = time.monotonic()
    # Both sides keep typing while the server is gone; the page changes too.
    chat_during_outage(customer, agent_page, "daphne was down")
    set_heading(customer, "Changed while daphne was down")
    screenshot(request, customer_during=customer, agent_during=agent_page)
    server.log_path = server.log_path.with_name("daphne-pg-restarted.log")
    server.start(seed=False)  # same port, same database, same Redis
    restarted = time.monotonic()
    print(f"\ndaphne restart: down for {restarted - stopped:.1f} s")

    expect(mirror(agent_page).locator("h1")).to_have_text(
        "Changed while daphne was down", timeout=RECOVERY_TIMEOUT
    )
    print(f"daphne restart: mirror resynced {time.monotonic() - restarted:.1f} s after the start")
    expect(agent_page.locator("#session-code")).to_have_text(code)
    expect(agent_page.locator("#session-status")).to_have_text("Live")
    expect(widget(customer).get_by_test_id("cobrowse-session-id")).to_have_text(code)
    customer.fill("#name", "Typed after the restart")
    expect(mirror(agent_page).locator("#name")).to_have_value("Typed after the restart")
    agent_page.get_by_test_id("chats-tab").click()
    expect_chat_delivered(
        server,
        transcript,
        chat_log,
        [f"{who}: {when}" for who in ("Customer", "Agent")
         for when in ("before the restart", "typed while daphne was down")],
    )  # fmt: skip
    print(f"daphne restart: chat delivered {time.monotonic() - restarted:.1f} s after the start")
    screenshot(request, customer_after=customer, agent_after=agent_page)
    row = session_row(server, code.replace(" ", ""))
    assert (row["status"], row["agent"]) == ("active", "agent1")
    exit_if_live(agent_page)


# ---------------------------------------------------------------------------
# Redis restarts under load
# ---------------------------------------------------------------------------


class ChatLoad:
    """A few chat customers on plain WebSockets, each posting a message every LOAD_INTERVAL
    seconds, reconnecting on any close and resending what the server has not stored, as the
    widget does. Loopback only, bounded in count and time."""

    def __init__(self, server: Server, clients: int = 4, interval: float = 0.25) -> None:
        page = urllib.request.urlopen(server.customer_base + "/demo/", timeout=10).read().decode()
        self.site = re.search(r'data-site="([^"]+)"', page).group(1)
        self.server = server
        self.clients = clients
        self.interval = interval
        self.sent: list[str] = []
        self.acked: set[str] = set()
        self.pending: dict[str, str] = {}  # client_id -> text, per all clients
        self.connects = 0
        self.closes = 0
        self.sending = threading.Event()
        self.sending.set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def start(self) -> None:
        self.thread.start()

    def finish(self, timeout: float = 30) -> None:
        """Stop posting, wait until every message is acknowledged (or timeout), stop."""
        self.sending.clear()
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            time.sleep(0.1)
        self.stop.set()
        self.thread.join(timeout=10)

    async def _main(self) -> None:
        await asyncio.gather(*(self._client(i) for i in range(self.clients)))

    async def _client(self, number: int) -> None:
        import websockets

        origin = self.server.customer_base
        body = json.dumps({"site": self.site, "name": f"Load {number}"}).encode()
        request = urllib.request.Request(
            origin + "/api/v1/chats/",
            data=body,
            headers={"Content-Type": "application/json", "Origin": origin},
        )
        chat = json.loads(await asyncio.to_thread(lambda: urllib.request.urlopen(request).read()))
        url = f"ws://127.0.0.1:{self.server.port}/ws/chat/?token={chat['token']}"
        mine: dict[str, str] = {}
        count = 0
        while not self.stop.is_set():
            try:
                async with websockets.connect(url, origin=origin, open_timeout=3) as ws:
                    self.connects += 1
                    state = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    assert state["type"] == "state", state
                    for message in state["messages"]:
                        self._ack(mine, message.get("client_id", ""))
                    for client_id, text in list(mine.items()):
                        await ws.send(
                            json.dumps({"type": "message", "text": text, "client_id": client_id})
                        )
                    next_post = time.monotonic()
                    while not self.stop.is_set():
                        if self.sending.is_set() and time.monotonic() >= next_post:
                            count += 1
                            client_id = f"load-{number}-{count}"
                            text = f"load {number} message {count}"
                            mine[client_id] = self.pending[client_id] = text
                            self.sent.append(text)
                            await ws.send(
                                json.dumps(
                                    {"type": "message", "text": text, "client_id": client_id}
                                )
                            )
                            next_post = time.monotonic() + self.interval
                        try:
                            frame = json.loads(await asyncio.wait_for(ws.recv(), 0.05))
                        except TimeoutError:
                            continue
                        if frame.get("type") == "message":
                            self._ack(mine, frame["message"].get("client_id", ""))
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException):
                self.closes += 1
                await asyncio.sleep(0.5)

    def _ack(self, mine: dict[str, str], client_id: str) -> None:
        if client_id in mine:
            del mine[client_id]
            self.pending.pop(client_id, None)
            self.acked.add(client_id)


@pytest.fixture(scope="module")
def redis_restartable():
    redis_server = RedisServer()
    redis_server.start()
    yield redis_server
    redis_server.kill()


@pytest.fixture(scope="module")
def redis_server_daphne(tmp_path_factory, redis_restartable):
    server = Server(
        tmp_path_factory.mktemp("faults-redis"),
        redis_url=redis_restartable.url,
        name="daphne-redis-restart",
    )
    server.start()
    yield server
    server.stop()


def test_after_a_redis_restart_under_load_the_service_recovers_and_resyncs_by_itself(
    redis_server_daphne, redis_restartable, customer, agent_page, request
):
    server = redis_server_daphne
    code, transcript, chat_log = chat_then_cobrowse(server, customer, agent_page, "Redis died")
    customer.fill("#name", "Typed before Redis went down")
    expect(mirror(agent_page).locator("#name")).to_have_value("Typed before Redis went down")
    load = ChatLoad(server)
    load.start()
    time.sleep(2)

    redis_restartable.kill()
    killed = time.monotonic()
    set_heading(customer, "Changed while Redis was down")
    customer.fill("#name", "Typed while Redis was down")
    chat_during_outage(customer, agent_page, "Redis was down")
    time.sleep(1)
    screenshot(request, customer_during=customer, agent_during=agent_page)
    redis_restartable.start()  # same port, empty: every subscription and group is gone
    back = time.monotonic()
    print(f"\nredis restart: down for {back - killed:.1f} s")

    # Nobody reloads anything: the mirror catches up with a fresh snapshot by itself.
    expect(mirror(agent_page).locator("h1")).to_have_text(
        "Changed while Redis was down", timeout=RECOVERY_TIMEOUT
    )
    expect(mirror(agent_page).locator("#name")).to_have_value("Typed while Redis was down")
    print(f"redis restart: mirror resynced {time.monotonic() - back:.1f} s after Redis was back")
    customer.fill("#name", "Typed after Redis came back")
    expect(mirror(agent_page).locator("#name")).to_have_value("Typed after Redis came back")
    expect(agent_page.locator("#session-code")).to_have_text(code)
    expect(agent_page.locator("#session-status")).to_have_text("Live")
    box = agent_page.get_by_test_id("cobrowse-view").bounding_box()
    agent_page.mouse.click(box["x"] + 300, box["y"] + 200)
    expect(widget(customer).get_by_test_id("cobrowse-agent-click")).to_have_count(1)
    screenshot(request, customer_after=customer, agent_after=agent_page)

    agent_page.get_by_test_id("chats-tab").click()
    expect_chat_delivered(
        server,
        transcript,
        chat_log,
        [f"{who}: {when}" for who in ("Customer", "Agent")
         for when in ("before Redis died", "typed while Redis was down")],
    )  # fmt: skip
    print(f"redis restart: chat delivered {time.monotonic() - back:.1f} s after Redis was back")
    screenshot(request, customer_chat=customer, agent_chat=agent_page)
    load.finish()
    print(
        f"redis restart: {len(load.sent)} chat messages from {load.clients} clients, "
        f"{load.connects} connects, {load.closes} closes or failed attempts"
    )
    assert not load.pending, f"never acknowledged: {sorted(load.pending.values())}"
    stored = [text for _sender, text in chat_texts(server) if text.startswith("load ")]
    assert sorted(stored) == sorted(load.sent), "each message is stored exactly once"
    row = session_row(server, code.replace(" ", ""))
    assert (row["status"], row["agent"]) == ("active", "agent1")
    exit_if_live(agent_page)
