"""No query string reaches a log: not the policy request's ?url=, not a socket's ?token=."""

import logging
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection

from cobrowse import accesslog
from cobrowse.accesslog import StripQueryStrings, without_query
from tests.processes import daphne_command
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cret-token-value"


def record(msg, args) -> logging.LogRecord:
    return logging.LogRecord("django.server", logging.INFO, __file__, 1, msg, args, None)


@pytest.mark.parametrize(
    "text,shown",
    [
        (
            "GET /api/v1/sites/k/policy?url=https%3A%2F%2Fx%2F%23access_token%3Dabc",
            "GET /api/v1/sites/k/policy",
        ),
        ('"GET /ws/customer/?token=abc HTTP/1.1" 101 -', '"GET /ws/customer/ HTTP/1.1" 101 -'),
        ("/a#frag and /b?c=d", "/a and /b"),
        ("/no/query/", "/no/query/"),
    ],
)
def test_query_strings_and_fragments_are_cut_from_logged_text(text, shown):
    assert without_query(text) == shown


def test_the_filter_cleans_arguments_of_every_shape():
    as_dict = record("HTTP %(method)s %(path)s", {"method": "GET", "path": f"/a?token={SECRET}"})
    as_tuple = record('"%s" %s %s', (f"GET /a?token={SECRET} HTTP/1.1", "200", "5"))
    formatted = record(f"Not Found: /a?token={SECRET}", ())
    for item in (as_dict, as_tuple, formatted):
        assert StripQueryStrings().filter(item) is True
        assert SECRET not in item.getMessage() and "/a" in item.getMessage()


def test_the_filter_keeps_what_is_not_a_request_path():
    item = record("%s took %.2f s, %d bytes", ("/a", 1.5, 20))
    StripQueryStrings().filter(item)
    assert item.getMessage() == "/a took 1.50 s, 20 bytes"


def test_daphne_hands_its_access_loggers_the_path_alone():
    from daphne.server import Server

    accesslog.install()
    accesslog.install()  # twice is once
    seen = []
    server = SimpleNamespace(action_logger=lambda *entry: seen.append(entry))
    Server.log_action(server, "http", "complete", {"path": f"/p?url={SECRET}", "status": 200})
    assert seen == [("http", "complete", {"path": "/p", "status": 200})]


def test_runserver_logs_through_the_configured_filter(caplog):
    """`manage.py runserver` (daphne's) logs to django.channels.server: settings.LOGGING's filter."""
    from daphne.management.commands.runserver import Command

    with caplog.at_level(logging.WARNING, logger="django.channels.server"):
        Command().log_action(
            "http",
            "complete",
            {
                "path": f"/api/v1/sites/nope/policy?url={SECRET}",
                "status": 404,
                "method": "GET",
                "time_taken": 0.01,
                "client": "127.0.0.1:5000",
            },
        )
    assert "/api/v1/sites/nope/policy" in caplog.text and SECRET not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_daphne_command_logs_no_query_string(site):
    """The real thing: `daphne cobrowse.asgi:application`, its access log on stdout."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cobrowse.settings",
        "SQLITE_PATH": connection.settings_dict["NAME"],  # this test's database, with the site
        "LOG_LEVEL": "INFO",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen(
        daphne_command(port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        policy = f"{base}/api/v1/sites/{site.key}/policy?url=https%3A%2F%2Fshop.example.com%2Fa%3Ft%3D{SECRET}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(policy, timeout=2).read()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("daphne did not start")
                time.sleep(0.1)
        try:
            urllib.request.urlopen(f"{base}/api/v1/sites/nope/policy?url={SECRET}", timeout=2)
        except urllib.error.HTTPError as e:
            assert e.code == 404
        _websocket_handshake(port, f"/ws/customer/?token={SECRET}")
        time.sleep(0.3)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert f'GET /api/v1/sites/{site.key}/policy"' in out  # the request is logged, path only
    assert "/ws/customer/" in out
    assert SECRET not in out


def _websocket_handshake(port: int, path: str) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\nOrigin: https://shop.example.com\r\n\r\n"
            ).encode()
        )
        sock.recv(4096)
