"""Scale-out: two daphne workers on one redis-server and one database. Behind the nginx
configuration of docs/operations.md both sockets of a session reach one worker and the page never
goes through Redis; a customer's page on one worker and the agent's workspace on the other still
co-browse normally, through Redis."""

import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import redis
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, ROOT, Server
from tests.e2e.helpers import join, login, mirror, screenshot, start_cobrowse, widget
from tests.processes import stop, wait_until_answers
from tests.support import free_port

pytestmark = pytest.mark.e2e


class Nginx:
    """nginx in front of the workers with the map and upstream of docs/operations.md, verbatim
    but for the workers' ports."""

    def __init__(self, tmp: Path, ports: list[int]):
        self.port = free_port()
        self.customer_base = f"http://127.0.0.1:{self.port}"
        self.agent_base = f"http://localhost:{self.port}"
        self.prefix = tmp / "nginx"
        self.prefix.mkdir()
        self.log_path = ARTIFACTS / "nginx-error.log"
        (self.prefix / "nginx.conf").write_text(self.config(ports))
        self.proc: subprocess.Popen | None = None

    def config(self, ports: list[int]) -> str:
        docs = (ROOT / "docs" / "operations.md").read_text()
        block = re.search(r"```nginx\n(# Both sockets of a session.*?)```", docs, re.S)
        assert block, "docs/operations.md lost its scale-out nginx block"
        upstream = block.group(1)
        for documented, port in zip(("127.0.0.1:8001", "127.0.0.1:8002"), ports, strict=True):
            assert documented in upstream
            upstream = upstream.replace(documented, f"127.0.0.1:{port}")
        temp = " ".join(
            f"{kind}_temp_path {self.prefix / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        return f"""
daemon off;
worker_processes 1;
pid {self.prefix / "nginx.pid"};
error_log {self.log_path} info;
events {{ worker_connections 256; }}
http {{
    access_log off;
    {temp}
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
{upstream}
    server {{
        listen 127.0.0.1:{self.port};
        location / {{
            proxy_pass http://cobrowse;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_read_timeout 3600s;
        }}
    }}
}}
"""

    def start(self) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        conf = self.prefix / "nginx.conf"
        ARTIFACTS.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [binary, "-p", str(self.prefix), "-e", str(self.log_path), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=open(ARTIFACTS / "nginx.out", "w"),
        )
        wait_until_answers(
            self.customer_base + "/healthz", self.proc, what="nginx", seconds=15, log=self.log_path
        )

    def stop(self) -> None:
        stop(self.proc)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, redis_url):
    tmp = tmp_path_factory.mktemp("scale-out")
    first = Server(tmp, redis_url=redis_url, name="worker-1")
    second = Server(tmp, redis_url=redis_url, name="worker-2")  # same SQLite file: one database
    proxy = Nginx(tmp, [first.port, second.port])
    first.start()
    second.manage(
        "seed_demo",
        *("--origin", first.customer_base, "--origin", second.customer_base),
        *("--origin", proxy.customer_base),
    )
    second.start(seed=False)
    proxy.start()
    yield first, second, proxy
    proxy.stop()
    first.stop()
    second.stop()


def metric(server: Server, name: str) -> float:
    """One series of the worker's own /metrics (asked on its port, from 127.0.0.1)."""
    text = urllib.request.urlopen(server.customer_base + "/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def sockets(server: Server) -> tuple[float, float]:
    return tuple(  # type: ignore[return-value]
        metric(server, f'cobrowse_sockets{{role="{role}"}}') for role in ("customer", "agent")
    )


def test_behind_nginx_both_sockets_of_a_session_reach_one_worker_and_the_page_skips_redis(
    two_workers, customer, agent_page, request
):
    first, second, proxy = two_workers
    code = start_cobrowse(customer, proxy.customer_base + "/demo/checkout/")
    login(agent_page, proxy.agent_base, "agent1")
    join(agent_page, code)
    view = mirror(agent_page)
    expect(view.locator("#name")).to_be_visible()
    placed = {worker.port: sockets(worker) for worker in (first, second)}
    assert sorted(placed.values()) == [(0, 0), (1, 1)], placed
    time.sleep(2.5)  # the customer's socket knows where the agent's is (AGENTS_UNKNOWN_SECONDS)
    before = [metric(worker, "cobrowse_frames_through_layer_total") for worker in (first, second)]
    customer.click("#name")
    customer.keyboard.type("Hashed onto one worker", delay=30)
    expect(view.locator("#name")).to_have_value("Hashed onto one worker")
    agent_page.wait_for_timeout(1500)  # a beat or two of the customer's page as well
    after = [metric(worker, "cobrowse_frames_through_layer_total") for worker in (first, second)]
    assert after == before, "page frames went through Redis although both sockets share a worker"
    # The next page's socket hashes to the same worker again.
    customer.goto(proxy.customer_base + "/demo/products/")
    expect(agent_page.get_by_test_id("url-bar")).to_have_value(
        proxy.customer_base + "/demo/products/"
    )
    assert {worker.port: sockets(worker) for worker in (first, second)} == placed
    screenshot(request, customer=customer, agent=agent_page)
    widget(customer).get_by_test_id("cobrowse-exit").click()
    expect(agent_page.locator("#session-banner")).to_have_text("The customer ended co-browsing.")


def test_a_customer_on_one_worker_and_an_agent_on_another_cobrowse(
    two_workers, customer, agent_page, request, redis_url
):
    first, second, _ = two_workers
    through_redis = metric(first, "cobrowse_frames_through_layer_total")
    code = start_cobrowse(customer, first.customer_base + "/demo/checkout/")
    login(agent_page, second.agent_base, "agent1")
    join(agent_page, code)
    view = mirror(agent_page)
    expect(view.locator("#name")).to_be_visible()
    customer.fill("#name", "Across workers")
    expect(view.locator("#name")).to_have_value("Across workers")
    assert metric(first, "cobrowse_frames_through_layer_total") > through_redis
    box = agent_page.get_by_test_id("cobrowse-view").bounding_box()
    agent_page.mouse.click(box["x"] + 300, box["y"] + 200)
    expect(widget(customer).get_by_test_id("cobrowse-agent-click")).to_have_count(1)
    customer.goto(first.customer_base + "/demo/products/")
    expect(agent_page.get_by_test_id("url-bar")).to_have_value(
        first.customer_base + "/demo/products/"
    )
    # Long after the new page's socket found out where the agent's is, its changes still get there.
    customer.wait_for_timeout(3000)
    customer.evaluate("document.querySelector('h1').textContent = 'Still across workers'")
    expect(view.locator("h1")).to_have_text("Still across workers")
    screenshot(request, customer=customer, agent=agent_page)
    # The two workers meet in Redis: the session's groups are pub/sub channels there.
    channels = redis.Redis.from_url(redis_url).pubsub_channels()
    assert any(b"cb-" in name for name in channels), channels
    widget(customer).get_by_test_id("cobrowse-exit").click()
    expect(agent_page.locator("#session-banner")).to_have_text("The customer ended co-browsing.")
