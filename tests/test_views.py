import pytest
from channels.testing import HttpCommunicator
from django.test import Client

from cobrowse.asgi import application
from policies.models import Site
from sessions_app import services


@pytest.mark.django_db
def test_the_workspace_asks_anonymous_users_to_log_in(db):
    response = Client().get("/workspace/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_agent_gets_the_workspace_with_the_join_controls(agent):
    client = Client()
    client.force_login(agent)
    html = client.get("/workspace/").content.decode()
    for testid in (
        "cobrowse-tab",
        "session-id-input",
        "join-cobrowse",
        "cobrowse-view",
        "exit-session",
        "zoom-fit",
        "zoom-1to1",
        "url-bar",
    ):
        assert f'data-testid="{testid}"' in html


def test_the_workspace_resumes_the_agents_live_session(agent, site):
    session, _ = services.session_create(site=site)
    services.session_join(agent=agent, code=session.code)
    client = Client()
    client.force_login(agent)
    html = client.get("/workspace/").content.decode()
    assert session.code in html


def test_a_user_without_the_agents_group_gets_a_clear_refusal(nobody):
    client = Client()
    client.force_login(nobody)
    response = client.get("/workspace/")
    assert response.status_code == 403
    assert "not in the <em>Agents</em> group" in response.content.decode()


def test_a_supervisor_is_pointed_to_the_session_list(supervisor):
    client = Client()
    client.force_login(supervisor)
    response = client.get("/workspace/")
    assert response.status_code == 403
    assert "/api/v1/sessions/" in response.content.decode()


def test_the_login_page_logs_an_agent_in(agent):
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "alice-pass", "next": "/workspace/"}
    )
    assert response.status_code == 302 and response["Location"] == "/workspace/"


def test_admin_lists_sessions_and_sites(administrator, site):
    services.session_create(site=site)
    client = Client()
    client.force_login(administrator)
    assert client.get("/admin/sessions_app/cobrowsesession/").status_code == 200
    assert client.get("/admin/policies/site/").status_code == 200
    assert client.get(f"/admin/policies/site/{site.pk}/change/").status_code == 200


async def test_the_asgi_app_serves_the_widget_script_itself():
    communicator = HttpCommunicator(application, "GET", "/static/cobrowse/widget.js")
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(5)
    assert start["type"] == "http.response.start" and start["status"] == 200
    assert (b"content-type", b"text/javascript") in [
        (k.lower(), v.split(b";")[0]) for k, v in start["headers"]
    ]


@pytest.mark.django_db
def test_the_workspace_sends_a_strict_content_security_policy(agent, site):
    client = Client()
    client.force_login(agent)
    csp = client.get("/workspace/")["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-eval'" not in csp
    assert "object-src 'none'" in csp
    assert "https://shop.example.com" in csp  # the customer's images may show in the mirror


@pytest.mark.django_db
def test_the_mirror_may_load_frames_images_media_and_fonts_only_from_the_server_and_the_sites(
    agent, site
):
    Site.objects.create(name="Bank", allowed_origins="https://bank.example.com:8443")
    client = Client()
    client.force_login(agent)
    header = client.get("/workspace/")["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in header.split(";")}
    sites = ["https://bank.example.com:8443", "https://shop.example.com"]
    for name in ("frame-src", "child-src"):
        assert directives[name] == ["'self'", *sites]
    for name, schemes in (
        ("img-src", ["data:", "blob:"]),
        ("font-src", ["data:"]),
        ("media-src", ["blob:"]),
    ):
        assert directives[name] == ["'self'", *sites, *schemes]
    assert directives["default-src"] == directives["connect-src"] == ["'self'"]
    for name in ("worker-src", "manifest-src", "fenced-frame-src", "object-src"):
        assert directives[name] == ["'none'"]
    assert "*" not in header and "http:" not in directives["img-src"]
