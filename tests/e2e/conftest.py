"""A real daphne serving the real ASGI app, and headless Debian Chromium driven by Playwright.

The server runs in a subprocess with its own SQLite file, migrated and seeded the way the README's
demo command does it; tests drive it only as users and integrators would (browser, HTTP, commands).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import join, login, mirror, start_cobrowse, widget
from tests.processes import daphne_command, stop, wait_until_answers
from tests.support import TEST_SECRET_KEY, free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
# Configuration of the shell the tests run in that must not reach their servers.
ENV_OF_THE_RUN = (
    "DEBUG",
    "SECRET_KEY_FILE",
    "DATABASE_URL",
    "DATABASE_URL_FILE",
    "REDIS_URL",
    "REDIS_URL_FILE",
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


class Server:
    def __init__(
        self, tmp: Path, *, redis_url: str = "", database_url: str = "", name: str = "daphne"
    ):
        self.port = free_port()
        self.customer_base = f"http://127.0.0.1:{self.port}"  # the company's site
        self.agent_base = f"http://localhost:{self.port}"  # the contact centre's workspace
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "cobrowse.settings",
            "SECRET_KEY": TEST_SECRET_KEY,  # DEBUG stays off, as in production
            "SQLITE_PATH": str(tmp / "e2e.sqlite3"),
            "COBROWSE_PAUSE_TIMEOUT": "600",
            "LOG_LEVEL": "INFO",
        }
        for variable in ENV_OF_THE_RUN:
            self.env.pop(variable, None)
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        if database_url:  # PostgreSQL instead of the SQLite file
            self.env["DATABASE_URL"] = database_url
        self.log_path = ARTIFACTS / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def start(self, *, seed: bool = True) -> None:
        if seed:
            self.manage("migrate", "--noinput")
            seeded = self.manage("seed_demo", "--origin", self.customer_base)
            self.telephony_token = seeded.split("API token ")[1].split()[0]
        ARTIFACTS.mkdir(exist_ok=True)
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            daphne_command(self.port),
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until_answers(
            self.customer_base + "/demo/", self.proc, what="daphne", seconds=30, log=self.log_path
        )

    def stop(self) -> None:
        stop(self.proc)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("e2e"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": CHROMIUM_ARGS,
        "headless": True,
    }


def _context(browser, request, name):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    if not page.is_closed():  # a test may close a tab on purpose
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{name}-end.png"))
    context.close()


@pytest.fixture
def customer(browser, request):
    """A customer's tab on the company's site."""
    yield from _context(browser, request, "customer")


@pytest.fixture
def agent_page(browser, request):
    """The agent's workspace tab, in a separate browser profile."""
    yield from _context(browser, request, "agent")


@pytest.fixture
def second_agent_page(browser, request):
    yield from _context(browser, request, "agent2")


@pytest.fixture
def live(server, customer, agent_page):
    """A live session on the checkout, agent1 joined (test modules with other needs define their
    own `live`). A short window, so that the checkout's lower half is below the customer's fold."""
    customer.set_viewport_size({"width": 1000, "height": 480})
    code = start_cobrowse(customer, server.customer_base + "/demo/checkout/")
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    expect(mirror(agent_page).locator("#name")).to_be_visible()
    expect(agent_page.locator("#session-status")).to_have_text("Live")
    yield code
    # The agent has one live session at a time: end this one for the next test (from the
    # customer's side, since a test may have closed the agent's tab).
    exit_button = widget(customer).get_by_test_id("cobrowse-exit")
    if exit_button.is_visible():
        exit_button.click()
        expect(exit_button).to_be_hidden()
