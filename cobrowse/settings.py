"""Settings for the co-browse service, driven by environment variables.

A fresh checkout runs on SQLite with the in-memory channel layer and no set-up beyond DEBUG=true
(which scripts/demo.sh sets); with DEBUG off, SECRET_KEY is required. `DATABASE_URL` and
`REDIS_URL` switch to PostgreSQL and Redis for scale-out. Every variable is listed, with a
comment, in `.env.example`; a bad value stops the server with ImproperlyConfigured naming the
variable. Secrets (SECRET_KEY, DATABASE_URL, REDIS_URL) can be read from files instead: X_FILE.
"""

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def envint(name: str, default: str, *, minimum: int = 0) -> int:
    value = os.getenv(name, default)
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be {minimum} or more, got {number}")
    return number


def envchoice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.getenv(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


def _origin(name: str, value: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImproperlyConfigured(f"{name}: {value!r} is not an origin like https://example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{name}: {value!r} has a path; give scheme://host[:port] only")
    return value


def envorigin(name: str, default: str = "") -> str:
    value = os.getenv(name, default).strip()
    return _origin(name, value) if value else ""


def envorigins(name: str, default: str = "") -> list[str]:
    return [_origin(name, item) for item in envlist(name, default)]


def envsecret(name: str, default: str = "") -> str:
    """`name`, or the content of the file `name`_FILE names (stripped), as container secrets
    are mounted. Both at once is an error: one of them would be silently ignored."""
    path = os.getenv(f"{name}_FILE", "")
    if not path:
        return os.getenv(name, default)
    if os.getenv(name):
        raise ImproperlyConfigured(f"{name} and {name}_FILE are both set; set one of them")
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise ImproperlyConfigured(f"{name}_FILE: cannot read {path!r} ({e})") from None
    if not value:
        raise ImproperlyConfigured(f"{name}_FILE: {path!r} is empty")
    return value


def envnetworks(name: str, default: str) -> list[str]:
    """Addresses or networks (`10.0.0.0/8`), comma separated, in ipaddress's spelling."""
    networks = []
    for item in envlist(name, default):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an IP address or network like 10.0.0.0/8"
            ) from None
    return networks


DEBUG = envbool("DEBUG", "false")
# Public, so good for development and the demo (DEBUG on) only.
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-change-me-in-production"
SECRET_KEY = envsecret("SECRET_KEY") or DEVELOPMENT_SECRET_KEY
# Django's own deploy check (security.W009) calls shorter keys, or ones of fewer distinct
# characters, insecure.
if not DEBUG and (
    SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a long random value (50 characters or more) when DEBUG is "
        "off, directly or through SECRET_KEY_FILE; the built-in development key is public. "
        "Make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'. "
        "For development and the demo, set DEBUG=true instead."
    )
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
for _trusted in CSRF_TRUSTED_ORIGINS:
    if "://" not in _trusted:  # Django's own rule (check 4_0.E001); its wildcards are allowed
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS: {_trusted!r} needs a scheme, like https://example.com"
        )

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
    "sso",
    "webhooks",
]

MIDDLEWARE = [
    # /healthz and /metrics, answered before host checks, sessions, CSRF and the HTTPS
    # redirect: load balancers and Prometheus call the workers by address, over plain HTTP.
    "cobrowse.health.OpsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of each page: Django's language cookie, else the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
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

    try:
        # A plain dict, not its TypedDict.
        return dict(dj_database_url.parse(url, conn_max_age=600))
    except ValueError as e:  # not the URL itself in the message: it holds the password
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {e}") from None


DATABASE_URL = envsecret("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": _database_from_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.getenv("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # The test database's file is chosen by tests/conftest.py (django_db_modify_db_settings).
            "OPTIONS": {"timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _check_redis_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        parts = urlsplit("")
    if not (parts.scheme in ("redis", "rediss") and parts.hostname) and not (
        parts.scheme == "unix" and parts.path
    ):  # not the URL itself in the message: it may hold the password
        raise ImproperlyConfigured(
            "REDIS_URL is not a Redis URL like redis://host:6379/0 (rediss:// or unix:///path)"
        )


REDIS_URL = envsecret("REDIS_URL")
# "pubsub" (RedisPubSubChannelLayer) relays about twice as fast as "core" on these machines.
REDIS_LAYER = envchoice("REDIS_LAYER", "pubsub", ("pubsub", "core"))
if REDIS_URL:
    _check_redis_url(REDIS_URL)
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
# The workspace, supervisor page, login and admin speak these (locale/, docs/configuration.md);
# the fallback is LANGUAGE_CODE. The switcher in the header names each in its own language.
LANGUAGES = [
    ("en", gettext_lazy("English")),
    ("de", gettext_lazy("German")),
    ("fr", gettext_lazy("French")),
    ("es", gettext_lazy("Spanish")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
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
COBROWSE_MAX_FRAME_BYTES = envint("COBROWSE_MAX_FRAME_BYTES", "1048576", minimum=1)
COBROWSE_MAX_SNAPSHOT_BYTES = envint("COBROWSE_MAX_SNAPSHOT_BYTES", "33554432", minimum=1)
# Frames over COBROWSE_INLINE_FRAME_BYTES, and every full snapshot, are parsed and guarded in
# COBROWSE_GUARD_WORKERS worker processes, never on the event loop (0: in a thread, as one process).
COBROWSE_INLINE_FRAME_BYTES = envint("COBROWSE_INLINE_FRAME_BYTES", "131072", minimum=1024)
COBROWSE_GUARD_WORKERS = envint("COBROWSE_GUARD_WORKERS", "2")
# Guard time (CPU seconds, in workers or not) one customer page may use per minute; a page over it
# reaches the agent as "too large to share" until its budget has refilled. 0: no limit.
COBROWSE_GUARD_SECONDS_PER_MINUTE = envint("COBROWSE_GUARD_SECONDS_PER_MINUTE", "15")
# Abuse limits. Wrong session IDs an agent, or an address, may try within the window before every
# join from them is refused until the window has passed (0: no limit).
COBROWSE_JOIN_FAILURES_PER_AGENT = envint("COBROWSE_JOIN_FAILURES_PER_AGENT", "10")
COBROWSE_JOIN_FAILURES_PER_IP = envint("COBROWSE_JOIN_FAILURES_PER_IP", "30")
COBROWSE_JOIN_WINDOW = envint("COBROWSE_JOIN_WINDOW", "600", minimum=1)
# Reverse proxies in front of daphne that append to X-Forwarded-For: the client's address is the
# N-th entry from the right (the rest is the client's own say). 0: the socket's peer address.
COBROWSE_TRUSTED_PROXIES = envint("COBROWSE_TRUSTED_PROXIES", "0")
# Browsers reach this server over HTTPS only (daphne's own TLS, or a proxy that terminates it):
# cookies go over HTTPS only, and browsers are told to keep to HTTPS for COBROWSE_HSTS_SECONDS
# (not subdomains, no preload list: those would commit other hosts of the domain too).
COBROWSE_TLS = envbool("COBROWSE_TLS", "false")
COBROWSE_HSTS_SECONDS = envint("COBROWSE_HSTS_SECONDS", "31536000")
if COBROWSE_TLS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = COBROWSE_HSTS_SECONDS
    if COBROWSE_TRUSTED_PROXIES:
        # Behind our own proxies, whose outermost one sets X-Forwarded-Proto (replacing the
        # client's): a request it received over HTTPS is secure (CSRF, HSTS, absolute URLs).
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        # Django can tell plain HTTP from HTTPS here, so it redirects the plain requests that
        # reach it too. Not without the proxy header: every request would look plain (a loop).
        SECURE_SSL_REDIRECT = True
# HSTS covers this host only, and is not for the preload list, on purpose (see above): Django's
# deploy checks warn about both, so they are silenced, not turned on.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
# Origins besides the server's own (the Host it is reached at) whose pages may open the agent's
# and the inbox's sockets, e.g. https://workspace.example.com. Full origins, comma separated.
COBROWSE_WORKSPACE_ORIGINS = envorigins("COBROWSE_WORKSPACE_ORIGINS")
# Frames per second one socket may send on average, and the burst it may send at once
# (a large snapshot arrives as a burst of chunk frames). 0: no limit.
COBROWSE_MAX_FRAMES_PER_SECOND = envint("COBROWSE_MAX_FRAMES_PER_SECOND", "60")
COBROWSE_FRAME_BURST = envint("COBROWSE_FRAME_BURST", "200")
# Live (waiting, active, paused) sessions one site may have at once. 0: no limit.
COBROWSE_MAX_LIVE_SESSIONS_PER_SITE = envint("COBROWSE_MAX_LIVE_SESSIONS_PER_SITE", "500")
# Public origin of this server as customers' browsers see it (demo pages use it for the embed tag).
COBROWSE_PUBLIC_URL = envorigin("COBROWSE_PUBLIC_URL")
# Webhooks (webhooks/, docs/integrations.md): seconds one POST to an endpoint may take in all,
# and days delivered and failed deliveries are kept (0: kept until deleted).
COBROWSE_WEBHOOK_TIMEOUT = envint("COBROWSE_WEBHOOK_TIMEOUT", "5", minimum=1)
COBROWSE_WEBHOOK_KEEP_DAYS = envint("COBROWSE_WEBHOOK_KEEP_DAYS", "30")
# GET /metrics (Prometheus) answers requests with this bearer token, and requests from these
# addresses or networks (empty: the token only). Each worker serves its own (docs/operations.md).
COBROWSE_METRICS_TOKEN = envsecret("COBROWSE_METRICS_TOKEN")
if COBROWSE_METRICS_TOKEN and len(COBROWSE_METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("COBROWSE_METRICS_TOKEN must be 16 characters or more")
COBROWSE_METRICS_ALLOW = envnetworks("COBROWSE_METRICS_ALLOW", "127.0.0.1,::1")


# Single sign-on for agents and supervisors with OpenID Connect (sso/, docs/integrations.md). Off
# unless OIDC_OP_ISSUER and OIDC_RP_CLIENT_ID are set; the provider's endpoints come from its
# discovery document (the issuer + /.well-known/openid-configuration), read at the first sign-in.
def _oidc_issuer(value: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        parts = urlsplit("")
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if (
        not parts.hostname
        or not (parts.scheme == "https" or (parts.scheme == "http" and loopback))
        or parts.query
        or parts.fragment
        or len(value) > 255
    ):
        raise ImproperlyConfigured(
            f"OIDC_OP_ISSUER: {value!r} is not an issuer like https://login.example.com/realm "
            "(https; http:// only on a loopback address)"
        )
    return value


OIDC_OP_ISSUER = os.getenv("OIDC_OP_ISSUER", "").strip()
OIDC_RP_CLIENT_ID = os.getenv("OIDC_RP_CLIENT_ID", "").strip()
OIDC_RP_CLIENT_SECRET = envsecret("OIDC_RP_CLIENT_SECRET")
OIDC_ENABLED = bool(OIDC_OP_ISSUER or OIDC_RP_CLIENT_ID)
OIDC_RP_SIGN_ALGO = envchoice(
    "OIDC_RP_SIGN_ALGO", "RS256", ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "HS256")
)
OIDC_RP_SCOPES = " ".join(os.getenv("OIDC_RP_SCOPES", "openid email profile").split())
OIDC_GROUPS_CLAIM = os.getenv("OIDC_GROUPS_CLAIM", "groups").strip()
OIDC_AGENT_GROUPS = envlist("OIDC_AGENT_GROUPS", "")
OIDC_SUPERVISOR_GROUPS = envlist("OIDC_SUPERVISOR_GROUPS", "")
OIDC_USERNAME_CLAIM = os.getenv("OIDC_USERNAME_CLAIM", "preferred_username").strip()
OIDC_TIMEOUT = envint("OIDC_TIMEOUT", "10", minimum=1)
# "login": the provider asks for the password at every sign-in, even with a session there (shared
# desks: logging out here does not sign out at the provider).
OIDC_PROMPT = envchoice("OIDC_PROMPT", "", ("", "login", "select_account"))
OIDC_AUTH_REQUEST_EXTRA_PARAMS = {"prompt": OIDC_PROMPT} if OIDC_PROMPT else {}
# mozilla-django-oidc's own: a PKCE challenge (S256) with every sign-in, and the client's secret
# sent to the token endpoint as HTTP Basic (client_secret_basic).
OIDC_USE_PKCE = True
OIDC_TOKEN_USE_BASIC_AUTH = True
if OIDC_ENABLED:
    _oidc_missing = [
        name
        for name, value in (
            ("OIDC_OP_ISSUER", OIDC_OP_ISSUER),
            ("OIDC_RP_CLIENT_ID", OIDC_RP_CLIENT_ID),
            ("OIDC_RP_CLIENT_SECRET", OIDC_RP_CLIENT_SECRET),
            ("OIDC_GROUPS_CLAIM", OIDC_GROUPS_CLAIM),
            ("OIDC_USERNAME_CLAIM", OIDC_USERNAME_CLAIM),
        )
        if not value
    ]
    if _oidc_missing:
        raise ImproperlyConfigured(f"single sign-on also needs {', '.join(_oidc_missing)}")
    OIDC_OP_ISSUER = _oidc_issuer(OIDC_OP_ISSUER)
    if not (OIDC_AGENT_GROUPS or OIDC_SUPERVISOR_GROUPS):
        raise ImproperlyConfigured(
            "single sign-on needs OIDC_AGENT_GROUPS or OIDC_SUPERVISOR_GROUPS (or both): "
            "without them nobody who signs in gets a role"
        )
    if "openid" not in OIDC_RP_SCOPES.split():
        raise ImproperlyConfigured("OIDC_RP_SCOPES must include openid")
    AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",  # password login stays
        "sso.oidc.OIDCBackend",
    ]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Request paths are logged without query strings: they carry the customer's page URL and
    # socket token (daphne's own access log: cobrowse.accesslog.install, from the routing).
    "filters": {"no_query_strings": {"()": "cobrowse.accesslog.StripQueryStrings"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": envchoice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    },
    "loggers": {
        "django.channels.server": {"level": "WARNING", "filters": ["no_query_strings"]},
        "django.server": {"filters": ["no_query_strings"]},
        "django.request": {"filters": ["no_query_strings"]},
    },
}
