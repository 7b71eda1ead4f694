"""The staff sockets (agent, inbox) open only from this server's own origin: scheme, host, port."""

import pytest
from channels.testing import WebsocketCommunicator

from cobrowse.asgi import application
from cobrowse.origins import workspace_origin_allowed
from tests.test_consumers import cookie_for, new_session

pytestmark = pytest.mark.django_db(transaction=True)


async def staff_socket(user, path: str, *, origin: str | None, host: str | None):
    headers = [(b"cookie", f"sessionid={await cookie_for(user)}".encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if host is not None:
        headers.append((b"host", host.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def opens(comm: WebsocketCommunicator) -> bool:
    connected, _ = await comm.connect()
    if connected:
        frame = await comm.receive_json_from()
        await comm.disconnect()
        return frame["type"] != "error"
    return False


@pytest.mark.parametrize(
    "origin,host,allowed",
    [
        ("http://localhost:8000", "localhost:8000", True),
        ("http://localhost", "localhost", True),
        ("http://localhost:80", "localhost", True),
        ("http://localhost", "localhost:80", True),
        ("https://localhost", "localhost:443", True),
        ("http://LocalHost:8000", "localhost:8000", True),
        ("http://[::1]:8000", "[::1]:8000", True),
        ("http://localhost:9000", "localhost:8000", False),  # another app on the same host
        ("http://localhost:8000", "localhost", False),
        ("http://localhost", "localhost:8000", False),
        ("https://localhost:8000", "localhost:8443", False),
        ("http://127.0.0.1:8000", "localhost:8000", False),
        ("ws://localhost:8000", "localhost:8000", False),
        ("null", "localhost:8000", False),
        ("http://localhost:8000/path", "localhost:8000", False),
        (None, "localhost:8000", False),
        ("http://localhost:8000", None, False),
        ("http://evil.example.net", "evil.example.net", False),  # not in ALLOWED_HOSTS
        ("http://localhost:8000", "localhost:8000/x", False),
    ],
)
def test_a_page_may_open_the_staff_sockets_only_from_the_hosts_own_origin(origin, host, allowed):
    assert workspace_origin_allowed(origin, host) is allowed


def test_extra_workspace_origins_may_be_allowed(settings):
    settings.COBROWSE_WORKSPACE_ORIGINS = ["https://workspace.example.com"]
    settings.ALLOWED_HOSTS = ["cobrowse.example.com"]
    assert workspace_origin_allowed("https://workspace.example.com", "cobrowse.example.com")
    assert workspace_origin_allowed("https://Workspace.example.com:443", "cobrowse.example.com")
    assert not workspace_origin_allowed(
        "https://workspace.example.com:8443", "cobrowse.example.com"
    )
    assert not workspace_origin_allowed("https://workspace.example.com", "elsewhere.example.com")


def test_debug_without_allowed_hosts_allows_local_hosts_like_django(settings):
    settings.DEBUG, settings.ALLOWED_HOSTS = True, []
    assert workspace_origin_allowed("http://localhost:8000", "localhost:8000")
    assert not workspace_origin_allowed("http://shop.example.com", "shop.example.com")


async def test_the_agent_socket_refuses_another_port_of_the_same_host(site, agent):
    session, _ = await new_session(site)
    comm = await staff_socket(
        agent, f"/ws/agent/{session.code}/", origin="http://localhost:9000", host="localhost:8000"
    )
    connected, _ = await comm.connect()
    assert not connected


async def test_the_agent_socket_opens_from_the_same_origin(site, agent):
    session, _ = await new_session(site)
    comm = await staff_socket(
        agent, f"/ws/agent/{session.code}/", origin="http://localhost:8000", host="localhost:8000"
    )
    assert await opens(comm)


async def test_the_agent_socket_refuses_a_handshake_without_origin(site, agent):
    session, _ = await new_session(site)
    comm = await staff_socket(
        agent, f"/ws/agent/{session.code}/", origin=None, host="localhost:8000"
    )
    connected, _ = await comm.connect()
    assert not connected


@pytest.mark.parametrize(
    "origin,opened",
    [("http://localhost:8000", True), ("http://localhost:9000", False), (None, False)],
    ids=["same-origin", "other-port", "no-origin"],
)
async def test_the_inbox_socket_opens_only_from_the_same_origin(agent, origin, opened):
    comm = await staff_socket(agent, "/ws/inbox/", origin=origin, host="localhost:8000")
    assert await opens(comm) is opened
