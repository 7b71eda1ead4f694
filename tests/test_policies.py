import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from policies.models import MaskingRule, PolicyVersion, RestrictionRule, Site
from policies.selectors import policy_for_site
from sessions_app import services
from tests.rrweb import document, el, full_snapshot

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example.com"


def test_a_bad_selector_is_a_clear_form_error(site):
    rule = MaskingRule(site=site, selector="input[type=", kind="input")
    with pytest.raises(ValidationError) as e:
        rule.full_clean()
    assert "Not a valid CSS selector" in str(e.value)


def test_every_save_changes_the_policy_version_and_sessions_record_it(site):
    before = PolicyVersion.current()
    MaskingRule.objects.create(site=site, selector=".a", kind="input")
    after_rule = PolicyVersion.current()
    site.write_mode_enabled = False
    site.save()
    assert before < after_rule < PolicyVersion.current()
    session, _ = services.session_create(site=site)
    assert session.policy_version == PolicyVersion.current()


def _judge(policy, *elements):
    """Run the compiled policy through the guard on a page of these (tag, attrs) elements."""
    from policies.guard import PrivacyGuard

    children = [el(10 + i, tag, dict(attrs)) for i, (tag, attrs) in enumerate(elements)]
    guard = PrivacyGuard(policy)
    guard.check_events([full_snapshot(document(el(3, "body", {}, children)))])
    return guard


def test_secure_defaults_are_always_in_the_policy(site):
    guard = _judge(
        policy_for_site(site),
        ("input", {"type": "PassWord"}),
        ("input", {"type": "hidden"}),
        ("input", {"autocomplete": "section-login ONE-TIME-CODE"}),
        ("input", {"autocomplete": "section-signup new-password"}),
        ("input", {"autocomplete": "billing CC-CSC"}),
        ("input", {"name": "user_password"}),
        ("input", {"name": "city"}),
    )
    assert set(guard.masked) == {10, 11, 12, 13, 14, 15}


def test_a_site_can_lift_the_submit_restriction(site):
    page = [("form", {}), ("input", {"type": "submit"}), ("button", {"form": "f"})]
    assert set(_judge(policy_for_site(site), *page).restricted) == {11, 12}
    site.submit_restricted = False
    site.save()
    assert _judge(policy_for_site(site), *page).restricted == {}
    assert "input[type=password i]" in policy_for_site(site)["mask"]["input"]


def test_rules_apply_by_site_url_pattern_and_enabled_flag(site):
    other = Site.objects.create(name="Other", allowed_origins="https://other.example.com")
    MaskingRule.objects.create(site=site, selector="#card", kind="input", url_pattern="/checkout/*")
    MaskingRule.objects.create(site=None, selector=".everywhere", kind="text")
    MaskingRule.objects.create(site=other, selector=".not-here", kind="text")
    MaskingRule.objects.create(site=site, selector=".off", kind="text", enabled=False)
    RestrictionRule.objects.create(site=site, selector="#promo", kind="field")
    on_checkout = policy_for_site(site, ORIGIN + "/checkout/pay")
    elsewhere = policy_for_site(site, ORIGIN + "/account/")
    assert "#card" in on_checkout["mask"]["input"] and "#card" not in elsewhere["mask"]["input"]
    assert on_checkout["mask"]["text"] == [".everywhere"]
    assert on_checkout["restrict"]["field"] == ["#promo"]


def test_the_widget_reads_the_policy_for_its_page(site):
    MaskingRule.objects.create(site=site, selector="#card", kind="input", url_pattern="/checkout/*")
    response = Client().get(
        f"/api/v1/sites/{site.key}/policy", {"url": ORIGIN + "/checkout/"}, HTTP_ORIGIN=ORIGIN
    )
    assert response.status_code == 200
    assert "#card" in response.json()["mask"]["input"]
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def admin_client(administrator) -> Client:
    client = Client()
    client.force_login(administrator)
    return client


def test_administrators_edit_rules_through_the_api(administrator, site):
    client = admin_client(administrator)
    created = client.post(
        "/api/v1/masking-rules/",
        data=json.dumps({"site": site.key, "selector": ".ssn", "kind": "input"}),
        content_type="application/json",
    )
    assert created.status_code == 201
    rule_id = created.json()["id"]
    patched = client.patch(
        f"/api/v1/masking-rules/{rule_id}/",
        data=json.dumps({"enabled": False}),
        content_type="application/json",
    )
    assert patched.json()["enabled"] is False
    bad = client.post(
        "/api/v1/restriction-rules/",
        data=json.dumps({"selector": "a[href=", "kind": "control"}),
        content_type="application/json",
    )
    assert bad.status_code == 400 and "Not a valid CSS selector" in bad.content.decode()


def test_administrators_create_sites_through_the_api(administrator):
    client = admin_client(administrator)
    response = client.post(
        "/api/v1/sites/",
        data=json.dumps({"name": "Bank", "origins": ["https://Bank.example.com:443/"]}),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["origins"] == ["https://bank.example.com"]
    bad = client.post(
        "/api/v1/sites/",
        data=json.dumps({"name": "Bad", "origins": ["ftp://x"]}),
        content_type="application/json",
    )
    assert bad.status_code == 400


def test_agents_and_supervisors_cannot_edit_rules(agent, supervisor, site):
    for user in (agent, supervisor):
        client = Client()
        client.force_login(user)
        response = client.post(
            "/api/v1/masking-rules/",
            data=json.dumps({"selector": ".x", "kind": "input"}),
            content_type="application/json",
        )
        assert response.status_code == 403
    assert MaskingRule.objects.count() == 0


def test_the_admin_preview_shows_the_page_as_the_agent_sees_it_and_lints_rules(administrator, site):
    MaskingRule.objects.create(site=site, selector=".ssn", kind="input")
    MaskingRule.objects.create(site=site, selector=".nowhere", kind="text")
    html = (
        '<form><input class="ssn" value="123-45-6789"><input type="password" value="pw">'
        '<button type="submit" onclick="steal()">Pay</button><script>alert(1)</script></form>'
    )
    response = admin_client(administrator).post(
        f"/admin/policies/site/{site.pk}/preview/", {"html": html, "url": ORIGIN + "/"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "123-45-6789" not in page.split('id="html"')[1].split("</textarea>")[1]
    assert "****" in page and "*" * 11 not in page, "the mask does not tell the length"
    assert "Rule <code>.nowhere</code> matches nothing on this page" in page
    assert "steal()" not in page.split("</textarea>")[1]
    assert "alert(1)" not in page.split("</textarea>")[1]
    assert 'sandbox=""' in page


def test_the_admin_preview_can_render_a_demo_page(administrator, site):
    response = admin_client(administrator).post(
        f"/admin/policies/site/{site.pk}/preview/", {"demo_page": "/demo/checkout/"}
    )
    page = response.content.decode()
    assert "data-cobrowse-restrict=&quot;control&quot;" in page  # the Place order button
    assert "data-cobrowse-mask=&quot;input&quot;" in page  # the card fields


@pytest.mark.parametrize(
    "path",
    [
        "/demo/account/",
        "/demo/%61ccount/",
        "/demo/x/../account/",
        "/demo/x/%2e%2e/account/",
        "//demo//account/",
        "/demo%2Faccount/",
        "/demo\\account\\",
        "/demo/account/?tab=card#iban",
    ],
)
def test_url_scoped_rules_match_the_normalised_path(site, path):
    MaskingRule.objects.create(
        site=site, selector="#iban", kind="input", url_pattern="/demo/account/*"
    )
    assert "#iban" in policy_for_site(site, ORIGIN + path)["mask"]["input"]


@pytest.mark.parametrize(
    "path", ["/demo/accounts/", "/demo/x/account/", "/demo/", "/?next=/demo/account/"]
)
def test_url_scoped_rules_do_not_match_other_paths(site, path):
    MaskingRule.objects.create(
        site=site, selector="#iban", kind="input", url_pattern="/demo/account/*"
    )
    assert "#iban" not in policy_for_site(site, ORIGIN + path)["mask"]["input"]


@pytest.mark.parametrize(
    "url,applies",
    [
        (ORIGIN + "/checkout/pay", True),
        ("https://SHOP.example.com:443/checkout/%70ay", True),
        (ORIGIN + "/x/../checkout/pay?step=2#card", True),
        ("https://other.example.com/checkout/pay", False),
        (ORIGIN + "/account/?r=https://shop.example.com/checkout/pay", False),
    ],
)
def test_full_url_patterns_match_origin_and_normalised_path_without_the_query(site, url, applies):
    rule = RestrictionRule(
        site=site, selector="#pay", url_pattern="https://Shop.example.com/checkout/*"
    )
    assert rule.applies_to(url) is applies


def test_a_url_that_cannot_be_read_gets_every_url_scoped_rule(site):
    rule = MaskingRule(site=site, selector="#iban", url_pattern="/demo/account/*")
    assert rule.applies_to("http://[::1") is True
    assert rule.applies_to("") is False  # no page yet: only the rules for every page


def test_the_policy_endpoint_matches_rules_on_the_url_without_its_query(site):
    MaskingRule.objects.create(
        site=site, selector="#iban", kind="input", url_pattern="/demo/account/*"
    )
    response = Client().get(
        f"/api/v1/sites/{site.key}/policy",
        {"url": ORIGIN + "/demo/%61ccount/?reset_token=s3cret#access_token=abc"},
        HTTP_ORIGIN=ORIGIN,
    )
    assert response.status_code == 200
    assert "#iban" in response.json()["mask"]["input"]
    assert "s3cret" not in response.content.decode() and "abc" not in response.content.decode()


def test_sites_name_the_query_parameters_they_keep(administrator):
    client = admin_client(administrator)
    response = client.post(
        "/api/v1/sites/",
        data=json.dumps(
            {
                "name": "Bank",
                "origins": ["https://bank.example.com"],
                "allowed_query_params": ["page", " q "],
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["allowed_query_params"] == ["page", "q"]
    assert response.json()["mask_reveals_length"] is False
    site = Site.objects.get(name="Bank")
    assert site.kept_params == ["page", "q"]
    patched = client.patch(
        f"/api/v1/sites/{site.key}/",
        data=json.dumps({"allowed_query_params": [], "mask_reveals_length": True}),
        content_type="application/json",
    )
    assert patched.json()["allowed_query_params"] == []
    site.refresh_from_db()
    assert site.kept_params == [] and site.mask_reveals_length is True
    bad = client.patch(
        f"/api/v1/sites/{site.key}/",
        data=json.dumps({"allowed_query_params": ["a=b"]}),
        content_type="application/json",
    )
    assert bad.status_code == 400


def test_the_admin_shows_the_url_and_mask_settings(administrator, site):
    client = admin_client(administrator)
    page = client.get(f"/admin/policies/site/{site.pk}/change/").content.decode()
    assert 'name="allowed_query_params"' in page and 'name="mask_reveals_length"' in page
    response = client.post(
        f"/admin/policies/site/{site.pk}/change/",
        {
            "name": site.name,
            "allowed_origins": ORIGIN,
            "write_mode_enabled": "on",
            "submit_restricted": "on",
            "allowed_query_params": "page, q\nutm_source",
        },
    )
    assert response.status_code == 302
    site.refresh_from_db()
    assert site.kept_params == ["page", "q", "utm_source"]
    assert "page, q, utm_source" in client.get("/admin/policies/site/").content.decode()
