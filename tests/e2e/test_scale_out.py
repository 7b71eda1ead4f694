"""Scale-out: two daphne workers on one redis-server and one database. The customer's page talks
to one worker, the agent's workspace to the other, and they co-browse normally."""

import pytest
import redis
from playwright.sync_api import expect

from tests.e2e.conftest import Server
from tests.e2e.helpers import join, login, mirror, screenshot, start_cobrowse, widget

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, redis_url):
    tmp = tmp_path_factory.mktemp("scale-out")
    first = Server(tmp, redis_url=redis_url, name="worker-1")
    second = Server(tmp, redis_url=redis_url, name="worker-2")  # same SQLite file: one database
    first.start()
    second.manage("seed_demo", "--origin", first.customer_base, "--origin", second.customer_base)
    second.start(seed=False)
    yield first, second
    first.stop()
    second.stop()


def test_a_customer_on_one_worker_and_an_agent_on_another_cobrowse(
    two_workers, customer, agent_page, request, redis_url
):
    first, second = two_workers
    code = start_cobrowse(customer, first.customer_base + "/demo/checkout/")
    login(agent_page, second.agent_base, "agent1")
    join(agent_page, code)
    view = mirror(agent_page)
    expect(view.locator("#name")).to_be_visible()
    customer.fill("#name", "Across workers")
    expect(view.locator("#name")).to_have_value("Across workers")
    box = agent_page.get_by_test_id("cobrowse-view").bounding_box()
    agent_page.mouse.click(box["x"] + 300, box["y"] + 200)
    expect(widget(customer).get_by_test_id("cobrowse-agent-click")).to_have_count(1)
    customer.goto(first.customer_base + "/demo/products/")
    expect(agent_page.get_by_test_id("url-bar")).to_have_value(
        first.customer_base + "/demo/products/"
    )
    screenshot(request, customer=customer, agent=agent_page)
    # The two workers meet in Redis: the session's groups are pub/sub channels there.
    channels = redis.Redis.from_url(redis_url).pubsub_channels()
    assert any(b"cb-" in name for name in channels), channels
    widget(customer).get_by_test_id("cobrowse-exit").click()
    expect(agent_page.locator("#session-banner")).to_have_text("The customer ended co-browsing.")
