"""GET /healthz as a load balancer calls it, on every channel layer, with a redis-server of the
test's own that it stops and starts again, and on real daphne workers; and `check --deploy` with
the production settings docs/operations.md gives."""

import json
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import AsyncClient, Client

from sessions_app import services
from tests.support import TEST_SECRET_KEY, evaluate_settings, free_port

ROOT = Path(__file__).resolve().parents[1]
ASGI_APP = ("cobrowse.asgi:application",)
NO_PERSISTENCE = ("--save", "", "--appendonly", "no")
OK = {"status": "ok", "checks": {"database": "ok", "channel_layer": "ok"}}


class RedisServer:
    """A redis-server on a loopback port of its own, that a test may stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed: run scripts/test.sh, which installs it"
        self.proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), *NO_PERSISTENCE],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def own_redis():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


# The app, in process


@pytest.mark.django_db(transaction=True)
async def test_it_answers_200_when_the_database_and_the_channel_layer_answer(channel_layer_kind):
    for _ in range(3):  # the same probe channel serves every check
        response = await AsyncClient().get("/healthz")
        assert response.status_code == 200
        assert response.json() == OK
    assert response["Cache-Control"] == "no-store"
    assert response.cookies == {} and "Vary" not in response, "no session, no CSRF cookie"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("layer", ["pubsub", "core"])
async def test_it_answers_503_naming_the_channel_layer_while_redis_is_down(
    own_redis, settings, caplog, layer
):
    caplog.set_level(logging.INFO)
    settings.CHANNEL_LAYERS = evaluate_settings(REDIS_URL=own_redis.url, REDIS_LAYER=layer)[
        "CHANNEL_LAYERS"
    ]
    client = AsyncClient()
    assert (await client.get("/healthz")).status_code == 200

    own_redis.stop()
    for _ in range(2):
        started = time.monotonic()
        response = await client.get("/healthz")
        assert time.monotonic() - started < 2.5, "a load balancer waits a few seconds at most"
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable" and body["failed"] == ["channel_layer"]
        assert body["checks"]["database"] == "ok"
        assert re.fullmatch(r"error: \w+|timeout", body["checks"]["channel_layer"]), body
        assert "127.0.0.1" not in response.content.decode(), "no internal address in the answer"

    own_redis.start()  # the same port, empty
    deadline = time.monotonic() + 15
    while (response := await client.get("/healthz")).status_code != 200:
        assert time.monotonic() < deadline, response.json()
    assert response.json() == OK

    ours = [r for r in caplog.records if r.name == "cobrowse.health"]
    assert [(r.levelname, r.getMessage().split(" (")[0]) for r in ours] == [
        ("WARNING", "health: channel_layer check failing"),
        ("INFO", "health: channel_layer reachable again"),
    ], "one line when it starts failing, one when it is back: not one per probe"
    assert not [r for r in caplog.records if r.name == "django.request"], "a 503 is no error"


@pytest.mark.django_db
def test_it_answers_ahead_of_the_https_redirect_and_the_host_check(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["cobrowse.example.com"]
    client = Client(HTTP_HOST="10.0.0.5:8001")  # a load balancer calls the worker by address
    assert client.get("/healthz").status_code == 200
    assert Client(HTTP_HOST="cobrowse.example.com").get("/workspace/").status_code == 301
    assert client.post("/healthz").status_code == 405


# Real daphne workers, as the production set-up runs them


def _daphne(tmp: Path, **env: str) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log_path = tmp / f"daphne-{port}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), *ASGI_APP],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "cobrowse.settings",
            "SECRET_KEY": TEST_SECRET_KEY,
            "ALLOWED_HOSTS": "cobrowse.example.com",
            "COBROWSE_TLS": "true",
            "COBROWSE_TRUSTED_PROXIES": "1",
            **env,
        },
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _get(base + "/healthz")
            return proc, base, log_path
        except OSError:
            assert proc.poll() is None, log_path.read_text()
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("daphne did not answer within 30 s")


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.django_db(transaction=True)
def test_a_worker_answers_its_load_balancer_and_prometheus_by_its_address(tmp_path, site):
    services.session_create(site=site, url="https://shop.example.com/")
    db = connection.settings_dict  # this test's database, with the session
    if connection.vendor == "sqlite":
        database = {"SQLITE_PATH": db["NAME"]}
    else:  # a run with DATABASE_URL (PostgreSQL): the test database on the same server
        user, password = quote(db["USER"], safe=""), quote(db["PASSWORD"], safe="")
        url = f"postgres://{user}:{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        database = {"DATABASE_URL": url}
    proc, base, _ = _daphne(tmp_path, **database)
    try:
        status, body = _get(base + "/healthz")  # Host 127.0.0.1:port, plain HTTP, TLS settings
        assert (status, json.loads(body)) == (200, OK)
        status, body = _get(base + "/metrics")  # from 127.0.0.1, the default allow-list
        assert status == 200
        assert b'cobrowse_sessions{status="waiting"} 1.0' in body
        assert b'cobrowse_sockets{role="customer"} 0.0' in body
    finally:
        _stop(proc)


def test_a_worker_whose_database_is_down_answers_503_naming_it_and_logs_it_once(tmp_path):
    nothing_there = f"postgres://cobrowse:pw@127.0.0.1:{free_port()}/cobrowse"
    proc, base, log_path = _daphne(tmp_path, DATABASE_URL=nothing_there)
    try:
        for _ in range(3):
            status, body = _get(base + "/healthz")
            assert status == 503
            answer = json.loads(body)
            assert answer["failed"] == ["database"] and answer["checks"]["channel_layer"] == "ok"
            assert answer["checks"]["database"] == "error: OperationalError"
        # Prometheus still gets the worker's own metrics, without the database's.
        status, body = _get(base + "/metrics")
        assert status == 200 and b"cobrowse_sockets{" in body
        assert b"cobrowse_sessions{" not in body
    finally:
        _stop(proc)
    log = log_path.read_text()
    assert log.count("health: database check failing (OperationalError") == 1, log
    assert " ERROR " not in log and "Service Unavailable" not in log, log
    assert "pw@" not in log, "no password in the log"


# The production settings


def _production_environment(tmp: Path) -> dict[str, str]:
    """The environment file of docs/operations.md, with its secret files made for the test (the
    database stays SQLite)."""
    guide = (ROOT / "docs" / "operations.md").read_text()
    block = re.search(r"```sh\n# /etc/cobrowse/cobrowse\.env\n(.*?)```", guide, re.S)
    assert block, "docs/operations.md shows /etc/cobrowse/cobrowse.env"
    env = dict(
        line.split("=", 1) for line in block.group(1).splitlines() if re.match(r"[A-Z_]+=", line)
    )
    files = {
        "SECRET_KEY_FILE": secrets.token_urlsafe(50),
        "DATABASE_URL_FILE": f"sqlite:///{tmp / 'check.sqlite3'}",
        "COBROWSE_METRICS_TOKEN_FILE": secrets.token_urlsafe(32),
    }
    for name, content in files.items():
        assert name in env, f"the guide's environment file sets {name}"
        path = tmp / name.lower()
        path.write_text(content + "\n")
        env[name] = str(path)
    return env


def test_check_deploy_passes_with_the_production_settings_of_the_operations_guide(tmp_path):
    env = _production_environment(tmp_path)
    assert env["COBROWSE_TLS"] == "true" and env["COBROWSE_TRUSTED_PROXIES"] == "1"
    assert env["REDIS_URL"].startswith("redis://") and "DEBUG" not in env
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "cobrowse.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
