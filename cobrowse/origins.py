"""Who may open the staff sockets (the agent's and the inbox): pages of this server only.

Channels' AllowedHostsOriginValidator compares host names, not origins, so a page on another port
of the same host (another application, with the agent's cookies in the same browser) passed it.
Here the whole origin counts: scheme, host and port.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from policies.models import normalize_origin


def _allowed_hosts() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]  # as Django itself does
    return hosts


def _normalized(origin: str) -> str | None:
    try:
        return normalize_origin(origin)
    except ValueError:
        return None


def workspace_origin_allowed(origin: str | None, host: str | None) -> bool:
    """The page's `Origin` is this server as the browser reached it (the `Host` it sent, on the
    origin's default port when it names none), or one of COBROWSE_WORKSPACE_ORIGINS; and the
    host is one of ALLOWED_HOSTS either way."""
    if not origin or not host:
        return False
    domain, _port = split_domain_port(host.lower())
    if not domain or not validate_host(domain, _allowed_hosts()):
        return False
    page = _normalized(origin)
    if page is None:  # not http(s), a path, "null" (sandboxed frames, file:)
        return False
    extra = {_normalized(o) for o in settings.COBROWSE_WORKSPACE_ORIGINS} - {None}
    if page in extra:
        return True
    # Host carries the port unless it is the default one of the scheme the browser used.
    return _normalized(f"{urlsplit(page).scheme}://{host}") == page


class WorkspaceOriginValidator:
    """ASGI middleware: refuse the handshake unless `workspace_origin_allowed`."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        origin = host = None
        for key, value in scope.get("headers", []):
            if key == b"origin":
                origin = value.decode("latin1")
            elif key == b"host":
                host = value.decode("latin1")
        if workspace_origin_allowed(origin, host):
            return await self.app(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
