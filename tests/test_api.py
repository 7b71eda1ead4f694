import json

import pytest
from django.test import Client

from sessions_app import services
from sessions_app.models import CobrowseSession

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example.com"


def create(client: Client, body: dict, origin: str | None = ORIGIN):
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return client.post(
        "/api/v1/sessions/", data=json.dumps(body), content_type="application/json", **headers
    )


def test_the_widget_creates_a_session_with_its_site_key(site):
    response = create(Client(), {"site": site.key, "url": ORIGIN + "/checkout"})
    assert response.status_code == 201
    body = response.json()
    assert len(body["code"]) == 9 and body["code_display"].count(" ") == 2
    assert body["token"] and body["status"] == "waiting" and body["expires_in"] == 900
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    session = CobrowseSession.objects.get(code=body["code"])
    assert body["token"] not in session.customer_token_hash


def test_creating_from_a_foreign_origin_is_refused_without_cors(site):
    response = create(Client(), {"site": site.key}, origin="https://evil.example.net")
    assert response.status_code == 403
    assert response.json()["code"] == "foreign_origin"
    assert "Access-Control-Allow-Origin" not in response
    assert CobrowseSession.objects.count() == 0


def test_creating_without_an_origin_is_refused(site):
    assert create(Client(), {"site": site.key}, origin=None).status_code == 403


def test_an_unknown_site_key_is_a_clear_404(site):
    response = create(Client(), {"site": "nope"})
    assert response.status_code == 404
    assert "check the embed tag" in response.json()["message"]


def test_a_malformed_body_is_a_clear_400(site):
    response = Client().post(
        "/api/v1/sessions/", data="{not json", content_type="application/json", HTTP_ORIGIN=ORIGIN
    )
    assert response.status_code == 400


def test_the_preflight_allows_only_the_sites_origins(site):
    ok = Client().options("/api/v1/sessions/", HTTP_ORIGIN=ORIGIN)
    assert ok["Access-Control-Allow-Origin"] == ORIGIN
    assert "Content-Type" in ok["Access-Control-Allow-Headers"]
    foreign = Client().options("/api/v1/sessions/", HTTP_ORIGIN="https://evil.example.net")
    assert "Access-Control-Allow-Origin" not in foreign


def test_supervisors_and_administrators_list_sessions(site, supervisor, administrator):
    services.session_create(site=site)
    for user in (supervisor, administrator):
        client = Client()
        client.force_login(user)
        response = client.get("/api/v1/sessions/")
        assert response.status_code == 200
        assert response.json()[0]["status"] == "waiting"


def test_agents_and_anonymous_users_cannot_list_sessions(site, agent):
    client = Client()
    assert client.get("/api/v1/sessions/").status_code in (401, 403)
    client.force_login(agent)
    assert client.get("/api/v1/sessions/").status_code == 403


def test_a_supervisor_sees_a_session_by_its_id(site, supervisor):
    session, _ = services.session_create(site=site)
    client = Client()
    client.force_login(supervisor)
    response = client.get(f"/api/v1/sessions/{session.code}/")
    assert response.json()["code"] == session.code
    assert client.get("/api/v1/sessions/000000000/").status_code == 404


def test_a_supervisor_ends_a_session(site, supervisor, agent):
    session, _ = services.session_create(site=site)
    services.session_join(agent=agent, code=session.code)
    client = Client()
    client.force_login(supervisor)
    response = client.post(f"/api/v1/sessions/{session.code}/end/")
    assert response.status_code == 200
    assert response.json()["end_reason"] == "ended_by_staff"
    again = client.post(f"/api/v1/sessions/{session.code}/end/")
    assert again.status_code == 409


def test_the_sessions_agent_may_end_it_but_another_agent_may_not(site, agent, second_agent):
    session, _ = services.session_create(site=site)
    services.session_join(agent=agent, code=session.code)
    other = Client()
    other.force_login(second_agent)
    assert other.post(f"/api/v1/sessions/{session.code}/end/").status_code == 404  # not theirs
    own = Client()
    own.force_login(agent)
    assert own.post(f"/api/v1/sessions/{session.code}/end/").json()["end_reason"] == "agent_exit"


def test_ending_through_the_api_needs_csrf_with_session_auth(site, agent):
    session, _ = services.session_create(site=site)
    services.session_join(agent=agent, code=session.code)
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    assert client.post(f"/api/v1/sessions/{session.code}/end/").status_code == 403
    session.refresh_from_db()
    assert session.status == "active"


def test_the_site_policy_is_public_for_the_sites_origin(site):
    response = Client().get(f"/api/v1/sites/{site.key}/policy", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 200
    assert response.json()["write_mode_enabled"] is True
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    foreign = Client().get(
        f"/api/v1/sites/{site.key}/policy", HTTP_ORIGIN="https://evil.example.net"
    )
    assert foreign.status_code == 403


def test_the_openapi_schema_describes_the_api(db):
    response = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    text = response.content.decode()
    assert "/api/v1/sessions/" in text and "/api/v1/sites/{key}/policy" in text


def test_the_api_shows_session_urls_without_the_parameters_the_site_drops(site, supervisor):
    session, _ = services.session_create(site=site)
    # A row written before URLs were cleaned, or before the site shortened its list.
    CobrowseSession.objects.filter(pk=session.pk).update(
        current_url=ORIGIN + "/reset/?token=s3cret&page=2#access_token=abc"
    )
    client = Client()
    client.force_login(supervisor)
    detail = client.get(f"/api/v1/sessions/{session.code}/").json()
    listed = client.get("/api/v1/sessions/").json()
    assert detail["current_url"] == listed[0]["current_url"] == ORIGIN + "/reset/"
    site.allowed_query_params = "page"
    site.save()
    detail = client.get(f"/api/v1/sessions/{session.code}/").json()
    assert detail["current_url"] == ORIGIN + "/reset/?page=2"


def test_the_widget_sends_its_url_with_the_query_and_nothing_of_it_is_kept(site):
    response = create(Client(), {"site": site.key, "url": ORIGIN + "/a?email=x%40y.z#t=1"})
    assert response.status_code == 201
    assert CobrowseSession.objects.get().current_url == ORIGIN + "/a"
