"""The fixed cast: an agent, a second agent, a supervisor, an administrator, a user with no role.

Browser tests are sorted last: sync Playwright leaves an event loop running that breaks
pytest-asyncio tests collected after it.
"""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
from django.contrib.auth.models import Group, User

from policies.models import Site
from sessions_app.models import AGENTS_GROUP, SUPERVISORS_GROUP
from tests.support import evaluate_settings, free_port

SITE_ORIGIN = "https://shop.example.com"
ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: 1 if "/e2e/" in str(item.fspath) else 0)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """On SQLite, the test database is a file, not :memory:, so that a daphne subprocess can
    share it (tests/test_logging.py); one per test run, so that two runs never share one.
    COBROWSE_TEST_DB chooses the file."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        name = os.environ.get("COBROWSE_TEST_DB") or str(ROOT / f"test-db-{os.getpid()}.sqlite3")
        db.setdefault("TEST", {})["NAME"] = name


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Join-attempt counters live in the cache: every test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield


def _user(username: str, *, group: str | None = None, **extra) -> User:
    user = User.objects.create_user(username, password=f"{username}-pass", **extra)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def agent(db) -> User:
    return _user("alice", group=AGENTS_GROUP, first_name="Alice", last_name="Agent")


@pytest.fixture
def second_agent(db) -> User:
    return _user("bob", group=AGENTS_GROUP, first_name="Bob", last_name="Agent")


@pytest.fixture
def supervisor(db) -> User:
    return _user("sam", group=SUPERVISORS_GROUP)


@pytest.fixture
def administrator(db) -> User:
    return _user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def nobody(db) -> User:
    return _user("nobody")


@pytest.fixture
def site(db) -> Site:
    return Site.objects.create(name="Shop", allowed_origins=SITE_ORIGIN)


@pytest.fixture(scope="session")
def redis_url():
    """A real redis-server on loopback, private to this test run."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run scripts/test.sh, which installs it")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(params=["memory", "redis-pubsub", "redis-core"])
def channel_layer_kind(request, settings):
    """Run a consumer test against each channel layer the settings can choose."""
    if request.param == "memory":
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "cobrowse.layers.InMemoryChannelLayer"}}
    else:
        url = request.getfixturevalue("redis_url")
        redis.Redis.from_url(url).flushdb()
        # The layer exactly as cobrowse/settings.py configures it from REDIS_URL.
        layer = "pubsub" if request.param == "redis-pubsub" else "core"
        configured = evaluate_settings(REDIS_URL=url, REDIS_LAYER=layer)
        settings.CHANNEL_LAYERS = configured["CHANNEL_LAYERS"]
    return request.param
