"""Settings for the co-browse service, driven by environment variables.

A fresh checkout runs on SQLite with the in-memory channel layer and no set-up.
`DATABASE_URL` and `REDIS_URL` switch to PostgreSQL and Redis for scale-out.
Every variable is listed, with a comment, in `.env.example`.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{name} must be a boolean (true/false), got {value!r}")


def envint(name: str, default: str) -> int:
    value = os.getenv(name, default)
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", "false")
SECRET_KEY = os.getenv("SECRET_KEY", "dev-only-insecure-key-change-me-in-production")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "policies",
    "sessions_app",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cobrowse.urls"
ASGI_APPLICATION = "cobrowse.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database_from_url(url: str) -> dict:
    import dj_database_url

    return dj_database_url.parse(url, conn_max_age=600)


DATABASE_URL = os.getenv("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": _database_from_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.getenv("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # A file, not :memory:, so that a daphne subprocess can share the test database; one
            # per test run (children inherit the name), so that two runs never share one.
            "TEST": {
                "NAME": os.environ.setdefault(
                    "COBROWSE_TEST_DB", str(BASE_DIR / f"test-db-{os.getpid()}.sqlite3")
                )
            },
            "OPTIONS": {"timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.getenv("REDIS_URL", "")
# "pubsub" (RedisPubSubChannelLayer) relays about twice as fast as "core" on these machines.
REDIS_LAYER = os.getenv("REDIS_LAYER", "pubsub")
if REDIS_URL:
    if REDIS_LAYER not in ("pubsub", "core"):
        raise ValueError(f"REDIS_LAYER must be 'pubsub' or 'core', got {REDIS_LAYER!r}")
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": (
                "channels_redis.pubsub.RedisPubSubChannelLayer"
                if REDIS_LAYER == "pubsub"
                else "channels_redis.core.RedisChannelLayer"
            ),
            # redis-py 8's default 5 s socket timeout kills idle consumers: turn it off.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}]},
        }
    }
    # Join-attempt counters must be shared by every worker.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cobrowse",
        }
    }
else:
    # One process: Channels' in-memory layer, without its O(sessions) sweep on every frame.
    CHANNEL_LAYERS = {"default": {"BACKEND": "cobrowse.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/workspace/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Serve /static/ from the ASGI app itself (embedded mode). Turn off behind a CDN or nginx.
SERVE_STATIC = envbool("SERVE_STATIC", "true")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Co-browse API",
    "DESCRIPTION": "Sessions, interactions, sites and the widget's public endpoints.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

# Co-browse behaviour (seconds and bytes).
COBROWSE_WAITING_TIMEOUT = envint("COBROWSE_WAITING_TIMEOUT", "900")
COBROWSE_PAUSE_TIMEOUT = envint("COBROWSE_PAUSE_TIMEOUT", "600")
# A write mode request the customer does not answer lapses after this many seconds.
COBROWSE_WRITE_REQUEST_TIMEOUT = envint("COBROWSE_WRITE_REQUEST_TIMEOUT", "30")
# After the customer denies write mode, the agent may not ask again for this many seconds.
COBROWSE_WRITE_RETRY_AFTER_DENIAL = envint("COBROWSE_WRITE_RETRY_AFTER_DENIAL", "30")
# Write mode survives a page change within the site; gone longer than this, back to pointer.
COBROWSE_WRITE_GRACE = envint("COBROWSE_WRITE_GRACE", "5")
# Seconds the session waits for an agent whose connection dropped; then it ends (`agent_lost`).
COBROWSE_AGENT_GRACE = envint("COBROWSE_AGENT_GRACE", "120")
COBROWSE_MAX_FRAME_BYTES = envint("COBROWSE_MAX_FRAME_BYTES", "1048576")
COBROWSE_MAX_SNAPSHOT_BYTES = envint("COBROWSE_MAX_SNAPSHOT_BYTES", "33554432")
# Abuse limits. Wrong session IDs an agent, or an address, may try within the window before every
# join from them is refused until the window has passed (0: no limit).
COBROWSE_JOIN_FAILURES_PER_AGENT = envint("COBROWSE_JOIN_FAILURES_PER_AGENT", "10")
COBROWSE_JOIN_FAILURES_PER_IP = envint("COBROWSE_JOIN_FAILURES_PER_IP", "30")
COBROWSE_JOIN_WINDOW = envint("COBROWSE_JOIN_WINDOW", "600")
# Reverse proxies in front of daphne that append to X-Forwarded-For: the client's address is the
# N-th entry from the right (the rest is the client's own say). 0: the socket's peer address.
COBROWSE_TRUSTED_PROXIES = envint("COBROWSE_TRUSTED_PROXIES", "0")
if COBROWSE_TRUSTED_PROXIES < 0:
    raise ValueError(f"COBROWSE_TRUSTED_PROXIES must be 0 or more, got {COBROWSE_TRUSTED_PROXIES}")
# Origins besides the server's own (the Host it is reached at) whose pages may open the agent's
# and the inbox's sockets, e.g. https://workspace.example.com. Full origins, comma separated.
COBROWSE_WORKSPACE_ORIGINS = envlist("COBROWSE_WORKSPACE_ORIGINS", "")
# Frames per second one socket may send on average, and the burst it may send at once
# (a large snapshot arrives as a burst of chunk frames). 0: no limit.
COBROWSE_MAX_FRAMES_PER_SECOND = envint("COBROWSE_MAX_FRAMES_PER_SECOND", "60")
COBROWSE_FRAME_BURST = envint("COBROWSE_FRAME_BURST", "200")
# Live (waiting, active, paused) sessions one site may have at once. 0: no limit.
COBROWSE_MAX_LIVE_SESSIONS_PER_SITE = envint("COBROWSE_MAX_LIVE_SESSIONS_PER_SITE", "500")
# Public origin of this server as customers' browsers see it (demo pages use it for the embed tag).
COBROWSE_PUBLIC_URL = os.getenv("COBROWSE_PUBLIC_URL", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Request paths are logged without query strings: they carry the customer's page URL and
    # socket token (daphne's own access log: cobrowse.accesslog.install, from the routing).
    "filters": {"no_query_strings": {"()": "cobrowse.accesslog.StripQueryStrings"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING", "filters": ["no_query_strings"]},
        "django.server": {"filters": ["no_query_strings"]},
        "django.request": {"filters": ["no_query_strings"]},
    },
}
