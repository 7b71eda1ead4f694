"""The admin's "Preview and lint" page with a demo page, on the host names a real server allows.

The test client's host, `testserver`, is allowed only during a test run (Django adds it): these
tests take it out again, so that the preview must render the demo page on the administrator's
own host, as it does behind daphne.
"""

import pytest
from django.test import Client, override_settings

from policies.models import MaskingRule, Site

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_site(db) -> Site:
    return Site.objects.create(
        name="Demo shop", allowed_origins="http://127.0.0.1:8000\nhttp://localhost:8000"
    )


def preview(user, site: Site, host: str, **form) -> tuple[int, str]:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    response = client.post(f"/admin/policies/site/{site.pk}/preview/", form)
    return response.status_code, response.content.decode()


@override_settings(ALLOWED_HOSTS=["localhost", "127.0.0.1"])
@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1:8000"])
@pytest.mark.parametrize(
    "demo_page", ["/demo/checkout/", "/demo/account/", "/demo/privacy/", "/demo/"]
)
def test_picking_a_demo_page_works_without_the_test_clients_host(
    administrator, demo_site, host, demo_page
):
    status, page = preview(administrator, demo_site, host, demo_page=demo_page)
    assert status == 200, page[:500]
    assert '<ul id="lint">' in page
    assert '<iframe id="preview" sandbox=""' in page
    assert "testserver" not in page


@override_settings(ALLOWED_HOSTS=["localhost", "127.0.0.1"])
def test_the_demo_checkout_is_shown_with_its_boxes_and_masks(administrator, demo_site):
    status, page = preview(administrator, demo_site, "localhost:8000", demo_page="/demo/checkout/")
    assert status == 200
    srcdoc = page.split('<iframe id="preview"')[1]
    assert "id=&quot;place-order&quot; data-cobrowse-restrict=&quot;control&quot;" in srcdoc
    assert "data-cobrowse-mask=&quot;input&quot;" in srcdoc  # the card fields
    # The URL the rules were picked for is the site's, not the host the admin came in on.
    assert 'name="url" value="http://127.0.0.1:8000/demo/checkout/"' in page


@override_settings(ALLOWED_HOSTS=["localhost"])
def test_a_demo_page_is_never_fetched_from_a_host_the_server_refuses(administrator, demo_site):
    status, _ = preview(administrator, demo_site, "evil.example.net", demo_page="/demo/")
    assert status == 400  # Django refuses the administrator's own request first


def test_the_lint_counts_read_as_english(administrator, site):
    MaskingRule.objects.create(site=site, selector=".ssn", kind="input")
    html = '<input class="ssn" value="1"><input class="ssn" value="2"><button>Go</button>'
    status, page = preview(administrator, site, "testserver", html=html, url=site.origins[0] + "/")
    assert status == 200
    assert "2 masked elements, 0 restricted elements." in page
    assert "<code>.ssn</code> matches 2 elements" in page
    one = '<input class="ssn" value="1"><form><button type="submit">Pay</button></form>'
    status, page = preview(administrator, site, "testserver", html=one, url=site.origins[0] + "/")
    assert "1 masked element, 1 restricted element." in page
    assert "<code>.ssn</code> matches 1 element</li>" in page
    assert "(s)" not in page
