"""GET /metrics as Prometheus reads it, and what the sockets count, through the real ASGI app."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from redis.exceptions import ConnectionError as RedisConnectionError

from cobrowse import metrics
from cobrowse.metrics import SessionsCollector, webhook_backlog
from sessions_app import services
from sessions_app.models import CobrowseSession
from tests.rrweb import change_frame, el, events_frame, page_load, snapshot_frame
from tests.support import evaluate_settings
from tests.test_consumers import connected_pair, customer_socket, refused
from tests.test_health import RedisServer

IN_MEMORY = (
    metrics.FRAMES_RELAYED,
    metrics.FRAME_SECONDS,
    metrics.GUARD_SECONDS,
    metrics.FRAMES_REFUSED,
    metrics.SOCKETS,
    metrics.SOCKETS_REFUSED,
    metrics.PRIVACY_ALERTS,
)
TOKEN = "metrics-token-for-tests-0123456789"
OURS = (
    "cobrowse_sessions",
    "cobrowse_frames_relayed",
    "cobrowse_frame_seconds",
    "cobrowse_guard_seconds",
    "cobrowse_frames_refused",
    "cobrowse_sockets",
    "cobrowse_sockets_refused",
    "cobrowse_privacy_alerts",
)


def scrape(client: Client | None = None) -> dict[tuple[str, tuple], float]:
    """GET /metrics, parsed the way Prometheus parses it: {(sample name, labels): value}, and
    each family as a sample ("family", ()) of value 0."""
    response = (client or Client()).get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples: dict[tuple[str, tuple], float] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        samples[(family.name, ())] = samples.get((family.name, ()), 0.0)
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(name: str, **labels) -> float:
    """This process's current value of one series (0 when it has never been touched), from the
    metrics kept in memory (the registry's own lookup would query the database too)."""
    for metric in IN_MEMORY:
        for family in metric.collect():
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return sample.value
    return 0.0


# The endpoint and who may read it


@pytest.mark.django_db
def test_prometheus_on_the_same_host_reads_every_metric_in_the_text_format():
    client = Client()  # REMOTE_ADDR 127.0.0.1, as Prometheus scraping the worker's port
    samples = scrape(client)
    names = {name for name, _ in samples}
    for metric in OURS:
        assert metric in names, f"{metric} is missing"
    assert samples[("cobrowse_sockets", (("role", "inbox"),))] == 0
    assert not any(name.endswith("_created") for name in names)
    assert client.cookies == {}, "no session for a scrape"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "address,headers,allow,trusted,status",
    [
        ("203.0.113.9", {}, "127.0.0.1,::1", 0, 403),
        ("203.0.113.9", {"Authorization": f"Bearer {TOKEN}"}, "127.0.0.1,::1", 0, 200),
        ("203.0.113.9", {"Authorization": f"bearer {TOKEN}"}, "", 0, 200),
        ("203.0.113.9", {"Authorization": "Bearer wrong-token-of-some-length"}, "", 0, 403),
        ("203.0.113.9", {"Authorization": f"Token {TOKEN}"}, "", 0, 403),
        ("127.0.0.1", {}, "", 0, 403),
        ("::ffff:127.0.0.1", {}, "127.0.0.1", 0, 200),
        ("10.1.2.3", {}, "10.0.0.0/8", 0, 200),
        # Through nginx on the same host: the peer is 127.0.0.1, the client is not.
        ("127.0.0.1", {"X-Forwarded-For": "127.0.0.1"}, "127.0.0.1", 0, 403),
        ("127.0.0.1", {"X-Forwarded-For": "198.51.100.7"}, "127.0.0.1", 1, 403),
        ("127.0.0.1", {"X-Forwarded-For": "198.51.100.7"}, "198.51.100.0/24", 1, 200),
        ("127.0.0.1", {"X-Forwarded-For": "198.51.100.7"}, "127.0.0.1", 2, 403),
    ],
    ids=[
        "a-foreign-address",
        "a-foreign-address-with-the-token",
        "the-token-with-no-address-allowed",
        "a-wrong-token",
        "the-token-in-another-scheme",
        "an-empty-allow-list",
        "an-ipv4-mapped-address",
        "an-allowed-network",
        "through-a-proxy-that-is-not-trusted",
        "through-our-proxy-from-outside",
        "through-our-proxy-from-an-allowed-network",
        "through-fewer-proxies-than-configured",
    ],
)
def test_metrics_are_served_with_the_token_or_to_the_allowed_addresses_only(
    settings, address, headers, allow, trusted, status
):
    settings.COBROWSE_METRICS_TOKEN = TOKEN
    settings.COBROWSE_METRICS_ALLOW = [a for a in allow.split(",") if a]
    settings.COBROWSE_TRUSTED_PROXIES = trusted
    response = Client(REMOTE_ADDR=address).get("/metrics", headers=headers)
    assert response.status_code == status
    if status == 403:
        assert b"cobrowse_" not in response.content
        assert b"COBROWSE_METRICS_TOKEN" in response.content


@pytest.mark.django_db
def test_without_a_token_set_no_bearer_token_opens_the_metrics(settings):
    settings.COBROWSE_METRICS_TOKEN = ""
    response = Client(REMOTE_ADDR="203.0.113.9").get(
        "/metrics", headers={"Authorization": "Bearer "}
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_only_get_and_head_are_answered():
    assert Client().post("/metrics").status_code == 405
    assert Client().head("/metrics").status_code == 200


def test_the_settings_refuse_a_short_token_and_an_address_that_is_not_one():
    with pytest.raises(ImproperlyConfigured, match="COBROWSE_METRICS_TOKEN must be 16"):
        evaluate_settings(COBROWSE_METRICS_TOKEN="short")
    with pytest.raises(ImproperlyConfigured, match=r"'10\.0\.0\.0/33' is not an IP address"):
        evaluate_settings(COBROWSE_METRICS_ALLOW="127.0.0.1, 10.0.0.0/33")
    values = evaluate_settings(COBROWSE_METRICS_ALLOW="10.1.2.3/8, ::1")
    assert values["COBROWSE_METRICS_ALLOW"] == ["10.0.0.0/8", "::1/128"]


# What the database says


@pytest.mark.django_db
def test_live_sessions_are_counted_by_status_with_one_query(
    site, agent, second_agent, django_assert_num_queries
):
    for _ in range(3):
        services.session_create(site=site, url="https://shop.example.com/")
    waiting = list(CobrowseSession.objects.filter(status=CobrowseSession.Status.WAITING))
    for session, who in ((waiting[0], agent), (waiting[1], second_agent)):
        session.agent, session.status, session.joined_at = who, "active", timezone.now()
        session.save()
    CobrowseSession.objects.filter(pk=waiting[1].pk).update(status="paused")
    ended, _ = services.session_create(site=site, url="https://shop.example.com/")
    services.session_end(session=ended, reason=CobrowseSession.EndReason.CUSTOMER_EXIT)

    with django_assert_num_queries(1):
        families = list(SessionsCollector().collect())
    assert {s.labels["status"]: s.value for s in families[0].samples} == {
        "waiting": 1,
        "active": 1,
        "paused": 1,
    }
    samples = scrape()
    assert samples[("cobrowse_sessions", (("status", "waiting"),))] == 1
    assert samples[("cobrowse_sessions", (("status", "active"),))] == 1
    assert samples[("cobrowse_sessions", (("status", "paused"),))] == 1
    assert not any(labels == (("status", "ended"),) for _, labels in samples)


@pytest.mark.django_db
def test_the_webhook_backlog_is_reported_exactly_when_the_webhooks_app_is_installed():
    from django.apps import apps

    samples = scrape()
    if apps.is_installed("webhooks"):
        from webhooks.selectors import backlog

        assert samples[("cobrowse_webhook_backlog", ())] == backlog() == webhook_backlog()
    else:
        assert webhook_backlog() is None
        assert not any(name == "cobrowse_webhook_backlog" for name, _ in samples)


# What the sockets count


@pytest.mark.django_db(transaction=True)
async def test_frames_are_counted_by_direction_and_kind_and_timed(site, agent):
    before = {
        "customer": value("cobrowse_sockets", role="customer"),
        "agent": value("cobrowse_sockets", role="agent"),
        "snapshot": value("cobrowse_frames_relayed_total", direction="to_agent", kind="snapshot"),
        "changes": value("cobrowse_frames_relayed_total", direction="to_agent", kind="changes"),
        "pointer": value("cobrowse_frames_relayed_total", direction="to_customer", kind="pointer"),
        "click": value(
            "cobrowse_frames_relayed_total", direction="to_customer", kind="pointer_click"
        ),
        "guard_snapshot": value("cobrowse_guard_seconds_count", kind="snapshot"),
        "guard_changes": value("cobrowse_guard_seconds_count", kind="changes"),
        "customer_frames": value("cobrowse_frame_seconds_count", role="customer"),
        "agent_frames": value("cobrowse_frame_seconds_count", role="agent"),
    }
    _, _, customer, agent_ws = await connected_pair(site, agent)
    assert value("cobrowse_sockets", role="customer") == before["customer"] + 1
    assert value("cobrowse_sockets", role="agent") == before["agent"] + 1

    await customer.send_json_to(snapshot_frame(1))
    await agent_ws.receive_from()
    await customer.send_json_to(change_frame(2))
    await agent_ws.receive_from()
    await agent_ws.send_json_to({"type": "pointer", "x": 1, "y": 2})
    await customer.receive_json_from()
    await agent_ws.send_json_to({"type": "click", "x": 1, "y": 2})
    await customer.receive_json_from()

    def grew(key: str, name: str, by: int = 1, **labels) -> None:
        assert value(name, **labels) == before[key] + by, (key, value(name, **labels))

    grew("snapshot", "cobrowse_frames_relayed_total", direction="to_agent", kind="snapshot")
    grew("changes", "cobrowse_frames_relayed_total", direction="to_agent", kind="changes")
    grew("pointer", "cobrowse_frames_relayed_total", direction="to_customer", kind="pointer")
    grew("click", "cobrowse_frames_relayed_total", direction="to_customer", kind="pointer_click")
    grew("guard_snapshot", "cobrowse_guard_seconds_count", kind="snapshot")
    grew("guard_changes", "cobrowse_guard_seconds_count", kind="changes")
    grew("customer_frames", "cobrowse_frame_seconds_count", by=2, role="customer")
    grew("agent_frames", "cobrowse_frame_seconds_count", by=2, role="agent")
    assert value("cobrowse_frame_seconds_sum", role="customer") > 0
    assert value("cobrowse_guard_seconds_sum", kind="snapshot") > 0

    await customer.disconnect()
    await agent_ws.disconnect()
    assert value("cobrowse_sockets", role="customer") == before["customer"]
    assert value("cobrowse_sockets", role="agent") == before["agent"]


@pytest.mark.django_db(transaction=True)
async def test_refused_frames_and_sockets_are_counted_by_reason(site, agent):
    def refusals(role: str, reason: str) -> float:
        return value("cobrowse_frames_refused_total", role=role, reason=reason)

    wrong_mode, bad_json = refusals("agent", "wrong_mode"), refusals("customer", "bad_json")
    not_found = value("cobrowse_sockets_refused_total", role="customer", reason="session_not_found")
    sockets = value("cobrowse_sockets", role="customer")
    alerts = value("cobrowse_privacy_alerts_total")

    frame, _ = await refused(await customer_socket("not-a-token"))
    assert frame["code"] == "session_not_found"
    assert value("cobrowse_sockets", role="customer") == sockets, "a refused socket never counts"
    assert (
        value("cobrowse_sockets_refused_total", role="customer", reason="session_not_found")
        == not_found + 1
    )

    _, _, customer, agent_ws = await connected_pair(site, agent)
    await agent_ws.send_json_to({"type": "navigate", "action": "back"})  # pointer mode
    assert (await agent_ws.receive_json_from())["code"] == "wrong_mode"
    assert refusals("agent", "wrong_mode") == wrong_mode + 1
    await customer.send_to(text_data="{not json")
    assert (await customer.receive_json_from())["code"] == "bad_json"
    assert refusals("customer", "bad_json") == bad_json + 1

    card = el(10, "input", {"autocomplete": "cc-number", "value": "4111-1111-1111-1111"})
    await customer.send_json_to(events_frame(1, page_load(card, timestamps=True)))
    await agent_ws.receive_from()
    assert value("cobrowse_privacy_alerts_total") == alerts + 1
    await customer.disconnect()
    await agent_ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_sockets_that_fail_with_redis_gone_are_no_longer_counted(site, agent, settings):
    redis = RedisServer()
    redis.start()
    try:
        settings.CHANNEL_LAYERS = evaluate_settings(REDIS_URL=redis.url, REDIS_LAYER="pubsub")[
            "CHANNEL_LAYERS"
        ]
        before = {role: value("cobrowse_sockets", role=role) for role in ("customer", "agent")}
        _, _, customer, agent_ws = await connected_pair(site, agent)
        assert value("cobrowse_sockets", role="agent") == before["agent"] + 1
        redis.stop()
        await agent_ws.send_json_to({"type": "pointer", "x": 1, "y": 2})  # a group_send: fails
        with pytest.raises(RedisConnectionError):  # it fails at once; the wait ends at 1 s
            await agent_ws.receive_output(timeout=1)
        with pytest.raises(RedisConnectionError):  # its disconnect handler tells the agent
            await customer.disconnect()
        assert {role: value("cobrowse_sockets", role=role) for role in before} == before
    finally:
        redis.stop()
