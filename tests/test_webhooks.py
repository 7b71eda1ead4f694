"""Webhooks: signed, retried, persisted before they are sent, against real HTTP receivers."""

import importlib.util
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from policies.guard import Alert
from policies.models import Site
from sessions_app import services
from tests.processes import daphne_command, wait_until_answers
from tests.support import free_port
from webhooks import events, sending
from webhooks.models import Delivery, Endpoint, retry_delay
from webhooks.selectors import backlog
from webhooks.services import (
    deliver_due,
    deliveries_prune,
    deliveries_resend,
    webhooks_send_test,
)

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = "https://shop.example.com"

pytestmark = pytest.mark.django_db


def _load_receiver_script():
    spec = importlib.util.spec_from_file_location(
        "webhook_receiver", ROOT / "scripts" / "webhook_receiver.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


receiver_script = _load_receiver_script()


def serve(server: ThreadingHTTPServer) -> ThreadingHTTPServer:
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture
def receivers():
    """Start real receivers (the README's script) on 127.0.0.1: receivers(secret, fail_first=0)."""
    started = []

    def start(secret: str, *, fail_first: int = 0, out=None):
        server = receiver_script.Receiver(
            ("127.0.0.1", 0), secret=secret, fail_first=fail_first, out=out
        )
        started.append(serve(server))
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


class HangingHandler(BaseHTTPRequestHandler):
    """Takes the request, notes its arrival, and answers only once the test lets it."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.arrived.append(self.headers["Cobrowse-Delivery"])
        self.server.release.wait(15)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def hanging_receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), HangingHandler)
    server.daemon_threads = True
    server.arrived = []
    server.release = threading.Event()
    yield serve(server)
    server.release.set()
    server.shutdown()
    server.server_close()


def url_of(server) -> str:
    return f"http://127.0.0.1:{server.server_port}/hooks?token=abc"


def queued(**filters) -> list[str]:
    return list(
        Delivery.objects.filter(**filters).order_by("created").values_list("event", flat=True)
    )


def a_started_session(site, agent):
    session, token = services.session_create(site=site, url=ORIGIN + "/checkout?coupon=XYZ")
    services.session_customer_connect(token=token, origin=ORIGIN, channel="page-1")
    services.session_join(agent=agent, code=session.code)
    return session, token


def a_test_delivery(endpoint, *, created):
    """A queued `webhook.test` delivery, created (and due) at `created`."""
    delivery = webhooks_send_test(endpoint=endpoint)
    Delivery.objects.filter(pk=delivery.pk).update(created=created, next_attempt_at=created)
    delivery.refresh_from_db()
    return delivery


# Signatures, and the receiver script's check


def test_a_signed_body_verifies_with_the_receiver_scripts_own_check():
    body = b'{"event":"session.created"}'
    header = sending.signature("whsec_test", body, int(time.time()))
    assert receiver_script.verify("whsec_test", header, body) == int(header[2:12])


@pytest.mark.parametrize(
    "secret,header_for,body,age",
    [
        ("whsec_other", "whsec_test", b"{}", 0),  # signed with another secret
        ("whsec_test", "whsec_test", b'{"x":1}', 0),  # body altered after signing
        ("whsec_test", "whsec_test", b"{}", 301),  # older than 5 minutes
        ("whsec_test", "whsec_test", b"{}", -301),  # from the future
    ],
)
def test_the_receiver_rejects_a_forged_altered_or_old_request(secret, header_for, body, age):
    header = sending.signature(header_for, b"{}", int(time.time()) - age)
    with pytest.raises(receiver_script.InvalidSignature):
        receiver_script.verify(secret, header, body)


@pytest.mark.parametrize("header", ["", "t=123", "v1=abc", "t=abc,v1=def", "garbage"])
def test_the_receiver_rejects_a_malformed_signature_header(header):
    with pytest.raises(receiver_script.InvalidSignature):
        receiver_script.verify("whsec_test", header, b"{}")


def test_the_check_docs_integrations_md_shows_verifies_and_refuses_as_it_says():
    docs = (ROOT / "docs" / "integrations.md").read_text()
    snippet = docs.split("### Check the signature")[1].split("```python")[1].split("```")[0]
    namespace: dict = {}
    exec(snippet, namespace)
    verify = namespace["verify"]
    body = b'{"event":"session.created"}'
    now = int(time.time())
    assert verify("whsec_doc", sending.signature("whsec_doc", body, now), body)
    assert not verify("whsec_doc", sending.signature("whsec_forged", body, now), body)
    assert not verify("whsec_doc", sending.signature("whsec_doc", body, now - 301), body)
    assert not verify("whsec_doc", sending.signature("whsec_doc", body, now), body + b" ")


def test_a_signature_five_minutes_old_still_verifies():
    header = sending.signature("whsec_test", b"{}", int(time.time()) - 295)
    receiver_script.verify("whsec_test", header, b"{}")


def test_the_receiver_over_http_refuses_a_forgery_and_handles_a_delivery_once(receivers):
    out = io.StringIO()
    receiver = receivers("whsec_test", out=out)
    url = f"http://127.0.0.1:{receiver.server_port}/"
    body = json.dumps({"event": "webhook.test", "data": {}}).encode()

    def post(signed_with: str) -> int:
        headers = sending.headers(
            secret=signed_with, body=body, event="webhook.test", delivery="d-1", attempt=1
        )
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            return urllib.request.urlopen(request, timeout=5).status
        except urllib.error.HTTPError as e:
            return e.code

    assert post("whsec_forged") == 400
    assert post("whsec_test") == 204
    assert post("whsec_test") == 204  # a repeat of the same delivery id
    assert [event["event"] for event in receiver.received] == ["webhook.test"]
    assert receiver.deliveries == ["d-1", "d-1"]
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("rejected: the signature does not match")
    assert lines[1] == "webhook.test"
    assert lines[2] == "repeat of delivery d-1: already handled"


# What is queued, when, and for whom


def test_a_sessions_lifecycle_queues_its_events_in_order_and_delivers_them(
    site, agent, receivers, caplog
):
    receiver = receivers("whsec_life")
    Endpoint.objects.create(site=site, url=url_of(receiver), secret="whsec_life")
    session, token = a_started_session(site, agent)
    services.session_write_requested(session_id=session.pk, agent_id=agent.pk)
    services.session_set_mode(session_id=session.pk, mode="write", agent_id=agent.pk, by="customer")
    services.session_set_mode(session_id=session.pk, mode="pointer", agent_id=agent.pk, by="agent")
    services.session_write_requested(session_id=session.pk, agent_id=agent.pk)
    services.session_write_denied(session_id=session.pk)
    services.privacy_alerts_record(
        session_id=session.pk,
        url=ORIGIN + "/checkout?card=4111-SECRET-9999",
        alerts=[Alert(node_id=7, kind="input_value", selector="#card")],
    )
    services.session_customer_left(session_id=session.pk, channel="page-1")
    services.session_customer_connect(token=token, origin=ORIGIN, channel="page-2")
    services.session_end(session=session, reason="agent_exit")

    expected = [
        "session.created",
        "session.joined",
        "write_mode.requested",
        "write_mode.approved",
        "session.mode_changed",
        "session.mode_changed",
        "write_mode.requested",
        "write_mode.denied",
        "privacy.alert",
        "session.paused",
        "session.resumed",
        "session.ended",
    ]
    assert queued() == expected
    with caplog.at_level(logging.INFO, logger="cobrowse.webhooks"):
        deliver_due()
    assert "delivery" in caplog.text and "token=abc" not in caplog.text  # the URL's query
    got = receiver.received
    assert [event["event"] for event in got] == expected  # one endpoint: in order
    assert {event["session"]["code"] for event in got} == {session.code}
    seqs = [event["session"]["seq"] for event in got]
    assert seqs == sorted(seqs)
    by_event = {event["event"]: event for event in got}
    assert by_event["session.joined"]["session"]["agent"] == "alice"
    assert by_event["session.joined"]["actor"] == "agent:alice"
    assert by_event["write_mode.denied"]["actor"] == "customer"
    assert by_event["privacy.alert"]["data"] == {"count": 1, "kinds": ["input_value"]}
    ended = by_event["session.ended"]
    assert ended["data"]["reason"] == "agent_exit"
    assert isinstance(ended["data"]["duration_seconds"], int)
    assert ended["session"]["status"] == "ended" and ended["site"] == {
        "id": site.pk,
        "name": "Shop",
    }
    modes = [e["data"] for e in got if e["event"] == "session.mode_changed"]
    assert modes == [{"mode": "write", "by": "customer"}, {"mode": "pointer", "by": "agent"}]
    everything = "".join(Delivery.objects.values_list("body", flat=True))
    # The card number is one no timestamp or id can contain by chance (a bare "4111" can).
    for never in ("coupon", "4111-SECRET-9999", "SECRET", "/checkout", "#card"):
        assert never not in everything  # no page, no query string, no rule, no value
    assert Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == len(expected)


def test_agent_actions_connects_and_links_are_not_events(site, agent):
    Endpoint.objects.create(site=site, url="http://127.0.0.1:9/")
    session, _ = a_started_session(site, agent)
    services.agent_actions_record(
        actions=[
            {
                "session_id": session.pk,
                "agent_id": agent.pk,
                "kind": "click",
                "node_id": 3,
                "target": "button#go",
                "detail": "",
                "url": ORIGIN + "/",
                "created": timezone.now(),
            }
        ]
    )
    assert queued() == ["session.created", "session.joined"]


def test_chats_and_calls_are_events_without_the_customers_name(site, agent, receivers):
    receiver = receivers("whsec_chat")
    shop = Endpoint.objects.create(site=site, url=url_of(receiver), secret="whsec_chat")
    every_site = Endpoint.objects.create(site=None, url=url_of(receiver), secret="whsec_chat")
    chat, _ = services.chat_start(site=site, name="Ada Lovelace")
    services.interaction_accept(agent=agent, interaction_id=chat.pk)
    services.interaction_end(interaction=chat, by="agent")
    call = services.voice_call_start(agent=agent, external_id="call-42", customer_name="Grace")
    services.interaction_end(interaction=call, by="telephony")

    chat_events = ["interaction.started", "interaction.accepted", "interaction.ended"]
    assert queued(endpoint=shop) == chat_events  # calls belong to no site
    assert queued(endpoint=every_site) == [*chat_events, "interaction.started", "interaction.ended"]
    deliver_due()
    (ended_call,) = [
        event
        for event in receiver.received
        if event["event"] == "interaction.ended" and event["interaction"]["channel"] == "voice"
    ]
    assert ended_call["interaction"]["id"] == call.pk
    assert ended_call["data"]["ended_by"] == "telephony"
    assert ended_call["site"] is None
    everything = "".join(Delivery.objects.values_list("body", flat=True))
    for never in ("Ada", "Grace", "call-42"):  # names, and the phone system's own call id
        assert never not in everything


def test_endpoints_of_another_site_without_the_event_or_inactive_get_nothing(site, agent):
    other = Site.objects.create(name="Other", allowed_origins="https://other.example.com")
    everything = Endpoint.objects.create(site=site, url="http://127.0.0.1:9/all")
    elsewhere = Endpoint.objects.create(site=other, url="http://127.0.0.1:9/other")
    ends_only = Endpoint.objects.create(
        site=site, url="http://127.0.0.1:9/ends", events=["session.ended"]
    )
    off = Endpoint.objects.create(site=site, url="http://127.0.0.1:9/off", active=False)
    session, _ = a_started_session(site, agent)
    services.session_end(session=session, reason="agent_exit")

    assert queued(endpoint=everything) == ["session.created", "session.joined", "session.ended"]
    assert queued(endpoint=ends_only) == ["session.ended"]
    assert queued(endpoint=elsewhere) == []
    assert queued(endpoint=off) == []


def test_a_delivery_is_written_with_its_event_or_not_at_all(site, agent):
    Endpoint.objects.create(site=site, url="http://127.0.0.1:9/")
    session, _ = a_started_session(site, agent)
    before = Delivery.objects.count()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            services.session_end(session=session, reason="agent_exit")
            assert Delivery.objects.count() == before + 1  # queued in the same transaction
            raise RuntimeError("the caller's transaction fails after the end was recorded")
    assert Delivery.objects.count() == before  # rolled back with the audit entry


# Delivery: retries, back-off, giving up


def test_the_back_off_schedule_grows_by_three_from_ten_seconds_to_an_hour():
    delays = [retry_delay(n).total_seconds() for n in range(1, 9)]
    assert delays == [10, 30, 90, 270, 810, 2430, 3600, 3600]


def test_a_receiver_that_fails_twice_gets_the_third_attempt_on_schedule(site, receivers):
    receiver = receivers("whsec_retry", fail_first=2)
    endpoint = Endpoint.objects.create(site=site, url=url_of(receiver), secret="whsec_retry")
    t0 = timezone.now()
    delivery = a_test_delivery(endpoint, created=t0)

    assert [o.attempt.status_code for o in deliver_due(now=t0)] == [500]
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == t0 + timedelta(seconds=10)
    assert deliver_due(now=t0 + timedelta(seconds=9)) == []  # not yet
    assert [o.attempt.status_code for o in deliver_due(now=t0 + timedelta(seconds=10))] == [500]
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == t0 + timedelta(seconds=40)
    assert deliver_due(now=t0 + timedelta(seconds=39)) == []
    assert [o.attempt.status_code for o in deliver_due(now=t0 + timedelta(seconds=40))] == [204]

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    log = list(delivery.attempt_log.values_list("number", "status_code", "error"))
    assert log == [(1, 500, "HTTP 500"), (2, 500, "HTTP 500"), (3, 204, "")]
    assert deliver_due(now=t0 + timedelta(hours=1)) == []  # delivered is done
    assert receiver.deliveries == [str(delivery.pk)] * 3  # the same id on every attempt
    assert len(receiver.received) == 1


def test_a_delivery_that_keeps_failing_is_given_up_24_hours_after_it_was_created(site, receivers):
    receiver = receivers("whsec_down", fail_first=10_000)
    endpoint = Endpoint.objects.create(site=site, url=url_of(receiver), secret="whsec_down")
    t0 = timezone.now()
    delivery = a_test_delivery(endpoint, created=t0)
    while delivery.status == Delivery.Status.PENDING:
        deliver_due(now=delivery.next_attempt_at)
        delivery.refresh_from_db()

    assert delivery.status == Delivery.Status.FAILED
    # The schedule, summed independently: attempts while the next one is within 24 hours.
    at, expected = 0, 1
    while at + min(10 * 3 ** (expected - 1), 3600) <= 24 * 3600:
        at += min(10 * 3 ** (expected - 1), 3600)
        expected += 1
    assert delivery.attempts == expected == 29
    last = delivery.attempt_log.order_by("-number").first()
    assert last.started <= t0 + timedelta(hours=24)


def test_a_refused_connection_is_an_attempt_with_its_error(site):
    port = free_port()  # nothing listens there
    Endpoint.objects.create(site=site, url=f"http://127.0.0.1:{port}/")
    delivery = a_test_delivery(Endpoint.objects.get(), created=timezone.now())
    (outcome,) = deliver_due()
    assert outcome.attempt.status_code is None
    assert "ConnectionRefusedError" in outcome.attempt.error
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 1


def test_a_receiver_that_hangs_does_not_hold_up_the_others(site, receivers, hanging_receiver):
    fast = [receivers("whsec_a"), receivers("whsec_b")]
    hung = Endpoint.objects.create(site=site, url=url_of(hanging_receiver))
    for receiver in fast:
        Endpoint.objects.create(site=site, url=url_of(receiver), secret=receiver.secret)
    services.session_create(site=site)  # session.created for all three
    a_test_delivery(hung, created=timezone.now())  # a second one for the hanging receiver

    started = time.monotonic()
    arrivals = {}

    def watch():
        while len(arrivals) < 2 and time.monotonic() - started < 5:
            for receiver in fast:
                if receiver.received and receiver not in arrivals:
                    arrivals[receiver] = time.monotonic() - started
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    outcomes = deliver_due(timeout=1.5)
    took = time.monotonic() - started
    watcher.join()

    assert sorted(arrivals.values())[-1] < 0.5  # the others were not kept waiting
    assert 1.4 < took < 2.5  # the pass ends at the timeout
    hung_attempts = [o.attempt for o in outcomes if o.delivery.endpoint_id == hung.pk]
    assert len(hung_attempts) == 1  # its second delivery waits for a later pass
    assert hung_attempts[0].error == "no answer within 1.5 s"
    assert 1400 <= hung_attempts[0].duration_ms < 2000
    assert hanging_receiver.arrived == [str(hung_attempts[0].delivery.pk)]
    assert Delivery.objects.filter(endpoint=hung, claimed_at__isnull=False).count() == 0


def test_backlog_counts_the_deliveries_waiting_for_active_endpoints(site):
    endpoint = Endpoint.objects.create(site=site, url="http://127.0.0.1:9/")
    assert backlog() == 0
    services.session_create(site=site)
    services.session_create(site=site)
    assert backlog() == 2
    Delivery.objects.filter(pk=Delivery.objects.first().pk).update(status="delivered")
    assert backlog() == 1
    endpoint.active = False
    endpoint.save()
    assert backlog() == 0


def test_old_finished_deliveries_are_pruned_and_pending_ones_kept(site, settings):
    settings.COBROWSE_WEBHOOK_KEEP_DAYS = 30
    Endpoint.objects.create(site=site, url="http://127.0.0.1:9/")
    for _ in range(3):
        services.session_create(site=site)
    old = timezone.now() - timedelta(days=31)
    first, second, third = Delivery.objects.order_by("created")
    Delivery.objects.filter(pk__in=[first.pk, second.pk]).update(created=old)
    Delivery.objects.filter(pk__in=[first.pk, third.pk]).update(status="delivered")
    assert deliveries_prune() == 1
    assert set(Delivery.objects.values_list("pk", flat=True)) == {second.pk, third.pk}


# The admin


@pytest.fixture
def admin_client(administrator) -> Client:
    client = Client()
    client.force_login(administrator)
    return client


def test_a_new_endpoint_shows_its_generated_secret_once(admin_client, site):
    form = admin_client.get("/admin/webhooks/endpoint/add/").content.decode()
    ticked = re.findall(r'<input type="checkbox" name="events" value="([^"]+)"[^>]* checked>', form)
    assert ticked == events.NAMES  # a new endpoint takes every event unless unticked
    response = admin_client.post(
        "/admin/webhooks/endpoint/add/",
        {
            "site": site.pk,
            "url": "https://crm.example.com/hooks",
            "description": "CRM",
            "events": ["session.created", "session.ended"],
            "active": "on",
        },
        follow=True,
    )
    endpoint = Endpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
    assert endpoint.events == ["session.created", "session.ended"]
    assert endpoint.secret in response.content.decode()
    change = admin_client.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/")
    assert change.status_code == 200
    assert endpoint.secret not in change.content.decode()


def test_rotating_the_secret_shows_the_new_one_once(admin_client, site):
    endpoint = Endpoint.objects.create(site=site, url="http://127.0.0.1:9/")
    old = endpoint.secret
    response = admin_client.post(
        "/admin/webhooks/endpoint/",
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()
    assert old not in response.content.decode()


def test_send_a_test_event_delivers_now_and_says_how_it_went(admin_client, site, receivers):
    receiver = receivers("whsec_admin")
    endpoint = Endpoint.objects.create(
        site=site, url=url_of(receiver), secret="whsec_admin", events=[]
    )
    response = admin_client.post(
        "/admin/webhooks/endpoint/",
        {"action": "send_test_event", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    assert "delivered (HTTP 204" in response.content.decode()
    assert [event["event"] for event in receiver.received] == ["webhook.test"]


def test_resend_queues_a_fresh_attempt_with_the_same_delivery_id(admin_client, site, receivers):
    receiver = receivers("whsec_resend")
    Endpoint.objects.create(site=site, url=url_of(receiver), secret="whsec_resend")
    services.session_create(site=site)
    deliver_due()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.DELIVERED

    response = admin_client.post(
        "/admin/webhooks/delivery/",
        {"action": "resend", "_selected_action": [str(delivery.pk)]},
        follow=True,
    )
    assert "Queued 1 delivery" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    assert backlog() == 1
    deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 2
    assert receiver.deliveries == [str(delivery.pk), str(delivery.pk)]


def test_resending_a_failed_delivery_gives_it_one_more_attempt(site, receivers):
    receiver = receivers("whsec_late", fail_first=1)
    endpoint = Endpoint.objects.create(site=site, url=url_of(receiver), secret="whsec_late")
    long_ago = timezone.now() - timedelta(hours=25)
    delivery = a_test_delivery(endpoint, created=long_ago)
    deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED  # past its 24 hours at the first failure
    deliveries_resend(deliveries=[delivery])
    deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 2


def test_the_deliveries_list_filters_by_status_event_and_endpoint(admin_client, site):
    endpoint = Endpoint.objects.create(site=site, url="http://127.0.0.1:9/")
    session, _ = services.session_create(site=site)
    services.session_end(session=session, reason="customer_exit")
    Delivery.objects.filter(event="session.ended").update(status="failed")
    base = "/admin/webhooks/delivery/"
    for query, shown, hidden in [
        ("?status__exact=failed", "session.ended", "session.created"),
        ("?event=session.created", "session.created", "session.ended"),
    ]:
        page = admin_client.get(base + query).content.decode()
        cell = '<td class="field-event">{}</td>'
        assert cell.format(shown) in page and cell.format(hidden) not in page
    assert admin_client.get(f"{base}?endpoint__id__exact={endpoint.pk}").status_code == 200
    detail = admin_client.get(f"{base}{Delivery.objects.first().pk}/change/")
    assert detail.status_code == 200 and "Attempts" in detail.content.decode()


# The worker as a process: killed, restarted, nothing lost, nothing twice


def worker_env(**extra: str) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cobrowse.settings",
        "SQLITE_PATH": connection.settings_dict["NAME"],  # this test's database
        **extra,
    }
    for name in ("DATABASE_URL", "DATABASE_URL_FILE", "REDIS_URL", "DEBUG"):
        env.pop(name, None)
    return env


def start_worker(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "deliver_webhooks", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_once(env: dict) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "deliver_webhooks", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def wait_for(check, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def start_daphne(env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        daphne_command(port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(base + "/api/v1/schema/", proc, what="daphne", seconds=30)
    except RuntimeError as error:
        proc.kill()
        pytest.fail(str(error))
    return proc, base


@pytest.mark.django_db(transaction=True)
def test_a_server_restart_between_attempts_loses_nothing_and_sends_once(site, receivers):
    if connection.vendor != "sqlite":
        pytest.fail("this test shares its SQLite file with the server's processes")
    receiver = receivers("whsec_restart", fail_first=1)
    Endpoint.objects.create(site=site, url=url_of(receiver), secret="whsec_restart")
    daphne, base = start_daphne(worker_env())
    worker = start_worker(env=worker_env())
    try:
        # The customer clicks Start Co-browse: the real server queues the event.
        start = urllib.request.Request(
            base + "/api/v1/sessions/",
            data=json.dumps({"site": site.key, "url": ORIGIN + "/"}).encode(),
            headers={"Content-Type": "application/json", "Origin": ORIGIN},
            method="POST",
        )
        assert urllib.request.urlopen(start, timeout=10).status == 201
        wait_for(lambda: Delivery.objects.filter(attempts=1).exists())  # and it failed once
    finally:
        for proc in (worker, daphne):  # the machine goes down, no goodbyes
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING and delivery.claimed_at is None
    # The 10 s back-off passes (moved, not slept).
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())

    out = run_once(worker_env())  # a new worker; daphne is not needed to deliver
    assert f"session.created {delivery.pk} attempt 2: 204" in out
    assert deliver_due() == []  # and again: nothing more is sent
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert receiver.deliveries == [str(delivery.pk)] * 2  # the failure, then the one delivery
    assert [event["event"] for event in receiver.received] == ["session.created"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_attempt_is_retried_with_the_same_id(site, hanging_receiver):
    Endpoint.objects.create(site=site, url=url_of(hanging_receiver))
    services.session_create(site=site)
    delivery = Delivery.objects.get()
    env = worker_env(COBROWSE_WEBHOOK_TIMEOUT="10")

    worker = start_worker(env=env)
    try:
        wait_for(lambda: hanging_receiver.arrived)  # the request is in flight
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.claimed_at is not None
    assert deliver_due() == []  # claimed by the dead worker: not sent again yet
    # The claim runs out (4 timeouts; moved, not slept). The receiver answers at once now.
    Delivery.objects.filter(pk=delivery.pk).update(
        claimed_at=delivery.claimed_at - timedelta(seconds=41)
    )
    hanging_receiver.release.set()
    run_once(env)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert hanging_receiver.arrived == [str(delivery.pk)] * 2  # same id: the receiver can dedupe
    log = list(delivery.attempt_log.values_list("number", "status_code", "error"))
    assert log == [
        (1, None, "no answer recorded: the worker stopped during this attempt"),
        (2, 204, ""),
    ]


def test_every_event_is_documented_in_integrations_md():
    docs = (ROOT / "docs" / "integrations.md").read_text()
    for name in [*events.NAMES, events.TEST]:
        assert f"`{name}`" in docs, f"{name} is not documented"


class SlowReceiver(receiver_script.Receiver):
    """The README's receiver, answering after 20 ms, so that two workers overlap."""

    def finish_request(self, request, client_address) -> None:
        time.sleep(0.02)
        super().finish_request(request, client_address)


CREATE_100 = """
from policies.models import Site
from webhooks.models import Endpoint
from sessions_app import services
site = Site.objects.create(name="Shop", allowed_origins="https://shop.example.com")
Endpoint.objects.create(site=site, url="{url}", secret="whsec_pg")
for _ in range(100):
    services.session_create(site=site)
"""


def test_two_workers_on_postgresql_send_each_delivery_once():
    from tests.e2e.test_faults import Postgres

    receiver = serve(SlowReceiver(("127.0.0.1", 0), secret="whsec_pg", out=None))
    postgres = Postgres()
    postgres.start()
    workers = []
    try:
        env = {**worker_env(), "DATABASE_URL": postgres.url}
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
        workers = [start_worker("--batch", "5", env=env) for _ in range(2)]
        for worker in workers:
            assert worker.stdout.readline().startswith("Delivering webhooks")
        script = CREATE_100.format(url=url_of(receiver))
        subprocess.run([*manage, "shell", "-c", script], cwd=ROOT, env=env, check=True, timeout=60)
        wait_for(lambda: len(receiver.received) >= 100, timeout=60)
        time.sleep(0.5)  # time for a second, wrong, attempt at anything
    finally:
        outputs = []
        for worker in workers:
            worker.terminate()
            outputs.append(worker.communicate(timeout=20)[0])
        postgres.stop()
        receiver.shutdown()
        receiver.server_close()

    assert len(receiver.deliveries) == len(set(receiver.deliveries)) == 100  # each once
    sent = [output.count("-> delivered") for output in outputs]
    assert sum(sent) == 100 and min(sent) > 0, sent  # both workers took part
