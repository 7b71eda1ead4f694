"""cobrowse/settings.py as a server meets it: evaluated in a fresh interpreter (`django.setup()`)
with only the environment each test gives it, never the test run's own."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.support import TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parents[1]
ERROR = "django.core.exceptions.ImproperlyConfigured: "
DEVELOPMENT_KEY = "dev-only-insecure-key-change-me-in-production"

PROBE = """
import json, os, sys
before = dict(os.environ)
import django
django.setup()
from django.conf import settings
values = {name: getattr(settings, name, None) for name in sys.argv[1:]}
# Django itself sets TZ from TIME_ZONE.
values["environ_written"] = sorted(
    k for k in os.environ if os.environ[k] != before.get(k) and k != "TZ"
)
print(json.dumps(values, default=str))
"""
NAMES = [
    "DEBUG",
    "SECRET_KEY",
    "DATABASES",
    "CHANNEL_LAYERS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "COBROWSE_PUBLIC_URL",
    "COBROWSE_WORKSPACE_ORIGINS",
]


def run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PROBE, *NAMES],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "cobrowse.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_with(**env: str) -> dict:
    result = run(env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refusal(**env: str) -> str:
    """The ImproperlyConfigured message the server stops with."""
    result = run(env)
    assert result.returncode != 0, result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(ERROR), result.stderr
    return last.removeprefix(ERROR)


def test_the_demo_runs_with_no_configuration_but_debug():
    assert "export DEBUG=${DEBUG:-true}" in (ROOT / "scripts" / "demo.sh").read_text()
    values = settings_with(DEBUG="true")
    assert values["DEBUG"] is True and values["SECRET_KEY"] == DEVELOPMENT_KEY
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["CHANNEL_LAYERS"]["default"]["BACKEND"] == "cobrowse.layers.InMemoryChannelLayer"
    assert values["SESSION_COOKIE_SECURE"] is False, "the demo is plain http"


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"DEBUG": "false", "SECRET_KEY": DEVELOPMENT_KEY},
        {"SECRET_KEY": "short-but-random-8hV2"},
        {"SECRET_KEY": "ab" * 40},  # long, but two characters
    ],
    ids=["unset", "the-built-in-key", "short", "few-characters"],
)
def test_with_debug_off_the_built_in_or_a_weak_secret_key_is_refused(env):
    message = refusal(**env)
    assert message.startswith("SECRET_KEY must be set to a long random value"), message
    assert "DEBUG=true" in message and "SECRET_KEY_FILE" in message


def test_with_debug_off_a_long_random_secret_key_is_used():
    values = settings_with(SECRET_KEY=TEST_SECRET_KEY)
    assert values["DEBUG"] is False and values["SECRET_KEY"] == TEST_SECRET_KEY


def test_secrets_are_read_from_the_files_their_FILE_variables_name(tmp_path):
    (tmp_path / "key").write_text(f"\n  {TEST_SECRET_KEY}  \n")
    (tmp_path / "db").write_text("postgres://cobrowse:pw@db.internal:5432/cobrowse\n")
    (tmp_path / "redis").write_text("redis://:pw@redis.internal:6379/0\n")
    values = settings_with(
        SECRET_KEY_FILE=str(tmp_path / "key"),
        DATABASE_URL_FILE=str(tmp_path / "db"),
        REDIS_URL_FILE=str(tmp_path / "redis"),
    )
    assert values["SECRET_KEY"] == TEST_SECRET_KEY
    db = values["DATABASES"]["default"]
    assert (db["ENGINE"], db["HOST"], db["PASSWORD"]) == (
        "django.db.backends.postgresql",
        "db.internal",
        "pw",
    )
    hosts = values["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"]
    assert hosts == [{"address": "redis://:pw@redis.internal:6379/0", "socket_timeout": None}]


def test_a_secret_file_that_cannot_be_used_is_named(tmp_path):
    missing = tmp_path / "nope"
    assert refusal(SECRET_KEY_FILE=str(missing)).startswith(
        f"SECRET_KEY_FILE: cannot read '{missing}'"
    )
    (tmp_path / "empty").write_text("\n")
    assert refusal(DATABASE_URL_FILE=str(tmp_path / "empty"), DEBUG="true") == (
        f"DATABASE_URL_FILE: '{tmp_path / 'empty'}' is empty"
    )


def test_a_secret_and_its_file_at_once_are_refused(tmp_path):
    (tmp_path / "key").write_text(TEST_SECRET_KEY)
    message = refusal(SECRET_KEY=TEST_SECRET_KEY, SECRET_KEY_FILE=str(tmp_path / "key"))
    assert message == "SECRET_KEY and SECRET_KEY_FILE are both set; set one of them"


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("DEBUG", "maybe", "DEBUG must be true or false, got 'maybe'"),
        ("COBROWSE_TLS", "sure", "COBROWSE_TLS must be true or false, got 'sure'"),
        (
            "COBROWSE_PAUSE_TIMEOUT",
            "10m",
            "COBROWSE_PAUSE_TIMEOUT must be a whole number, got '10m'",
        ),
        ("COBROWSE_WAITING_TIMEOUT", "", "COBROWSE_WAITING_TIMEOUT must be a whole number, got ''"),
        ("COBROWSE_TRUSTED_PROXIES", "-1", "COBROWSE_TRUSTED_PROXIES must be 0 or more, got -1"),
        ("COBROWSE_MAX_FRAME_BYTES", "0", "COBROWSE_MAX_FRAME_BYTES must be 1 or more, got 0"),
        ("COBROWSE_HSTS_SECONDS", "-5", "COBROWSE_HSTS_SECONDS must be 0 or more, got -5"),
        ("REDIS_LAYER", "fast", "REDIS_LAYER must be one of pubsub, core; got 'fast'"),
        (
            "LOG_LEVEL",
            "verbose",
            "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got 'verbose'",
        ),
        (
            "COBROWSE_PUBLIC_URL",
            "cobrowse.example.com",
            "COBROWSE_PUBLIC_URL: 'cobrowse.example.com' is not an origin like https://example.com",
        ),
        (
            "COBROWSE_PUBLIC_URL",
            "https://cobrowse.example.com/app",
            "COBROWSE_PUBLIC_URL: 'https://cobrowse.example.com/app' has a path; give "
            "scheme://host[:port] only",
        ),
        (
            "COBROWSE_WORKSPACE_ORIGINS",
            "https://ok.example.com, https://bad.example.com:https",
            "COBROWSE_WORKSPACE_ORIGINS: 'https://bad.example.com:https' is not an origin like "
            "https://example.com",
        ),
        (
            "CSRF_TRUSTED_ORIGINS",
            "cobrowse.example.com",
            "CSRF_TRUSTED_ORIGINS: 'cobrowse.example.com' needs a scheme, like https://example.com",
        ),
    ],
)
def test_a_bad_value_stops_the_server_with_the_variables_name(name, value, message):
    assert refusal(SECRET_KEY=TEST_SECRET_KEY, **{name: value}) == message


@pytest.mark.parametrize(
    "name,url",
    [
        ("DATABASE_URL", "mongodb://admin:hunter2@db.internal/cobrowse"),
        ("DATABASE_URL", "postgres://admin:hunter2@db.internal:port/cobrowse"),
        ("REDIS_URL", "http://admin:hunter2@redis.internal:6379"),
        ("REDIS_URL", "redis://admin:hunter2@redis.internal:port/0"),
    ],
)
def test_a_bad_url_is_refused_without_showing_its_password(name, url):
    message = refusal(SECRET_KEY=TEST_SECRET_KEY, **{name: url})
    assert message.startswith(f"{name} is not a ") and "hunter2" not in message, message


def test_without_tls_cookies_are_not_limited_to_https():
    values = settings_with(SECRET_KEY=TEST_SECRET_KEY, COBROWSE_TRUSTED_PROXIES="1")
    assert values["SESSION_COOKIE_SECURE"] is False and values["CSRF_COOKIE_SECURE"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SECURE_PROXY_SSL_HEADER"] is None, "only a TLS proxy's header is believed"


def test_behind_tls_cookies_are_secure_and_browsers_keep_to_https_for_a_year():
    values = settings_with(SECRET_KEY=TEST_SECRET_KEY, COBROWSE_TLS="true")
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert (
        values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False and values["SECURE_HSTS_PRELOAD"] is False
    )
    assert values["SECURE_PROXY_SSL_HEADER"] is None, "daphne's own TLS: no proxy to believe"


def test_behind_our_own_tls_proxy_its_forwarded_scheme_is_believed():
    values = settings_with(
        SECRET_KEY=TEST_SECRET_KEY,
        COBROWSE_TLS="true",
        COBROWSE_TRUSTED_PROXIES="1",
        COBROWSE_HSTS_SECONDS="0",
    )
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SESSION_COOKIE_SECURE"] is True and values["SECURE_HSTS_SECONDS"] == 0


def test_origins_are_read_as_given():
    values = settings_with(
        SECRET_KEY=TEST_SECRET_KEY,
        COBROWSE_PUBLIC_URL="https://cobrowse.example.com/",
        COBROWSE_WORKSPACE_ORIGINS="https://a.example.com, http://127.0.0.1:8000",
    )
    assert values["COBROWSE_PUBLIC_URL"] == "https://cobrowse.example.com/"
    assert values["COBROWSE_WORKSPACE_ORIGINS"] == [
        "https://a.example.com",
        "http://127.0.0.1:8000",
    ]


def test_the_settings_write_nothing_into_the_environment():
    assert settings_with(SECRET_KEY=TEST_SECRET_KEY)["environ_written"] == []


def test_the_test_database_is_a_file_of_this_run_chosen_by_the_conftest(db):
    name = connection.settings_dict["NAME"]
    if connection.vendor != "sqlite":  # DATABASE_URL given: Django names the test database
        assert "test-db-" not in str(name)
        return
    expected = os.environ.get("COBROWSE_TEST_DB") or str(ROOT / f"test-db-{os.getpid()}.sqlite3")
    assert name == expected and Path(name).is_file()


def test_every_variable_the_settings_read_is_documented_in_both_places():
    source = (ROOT / "cobrowse" / "settings.py").read_text()
    names = set(re.findall(r'(?:env\w*|os\.getenv)\(\s*"([A-Z][A-Z0-9_]+)"', source))
    assert {"DEBUG", "SECRET_KEY", "COBROWSE_TLS", "LOG_LEVEL"} <= names
    secrets = set(re.findall(r'envsecret\(\s*"([A-Z][A-Z0-9_]+)"', source))
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "COBROWSE_METRICS_TOKEN"} <= secrets
    docs = (ROOT / "docs" / "configuration.md").read_text()
    example = (ROOT / ".env.example").read_text()
    for name in names | {f"{s}_FILE" for s in secrets}:
        assert f"`{name}`" in docs or f"`{name}=" in docs, f"{name} is not in configuration.md"
        assert re.search(rf"\b{name}\b", example), f"{name} is not in .env.example"
