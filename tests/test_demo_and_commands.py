"""The demo shop pages and the seed_demo / cobrowse_site management commands."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from policies.models import Site

WIDGET_PAGES = [
    "/demo/",
    "/demo/products/",
    "/demo/products/summit-tent/",
    "/demo/account/",
    "/demo/checkout/",
]


@pytest.fixture
def demo_site(db) -> Site:
    return Site.objects.create(name="Demo shop", allowed_origins="http://testserver")


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("url", WIDGET_PAGES)
def test_every_demo_page_renders_and_embeds_the_widget_with_the_demo_site_key(url, demo_site):
    response = Client().get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        f'<script src="http://testserver/static/cobrowse/widget.js" data-site="{demo_site.key}"'
        in html
    )
    assert "No demo site configured" not in html
    assert html.index("cobrowse/widget.js") > html.index('id="cart-count"')


@pytest.mark.django_db
@override_settings(COBROWSE_PUBLIC_URL="https://cobrowse.example.com/")
def test_the_widget_url_uses_the_public_url_when_it_is_set(demo_site):
    html = Client().get("/demo/").content.decode()
    assert '<script src="https://cobrowse.example.com/static/cobrowse/widget.js"' in html


@pytest.mark.django_db
def test_demo_pages_explain_how_to_seed_when_there_is_no_demo_site():
    html = Client().get("/demo/").content.decode()
    assert "widget.js" not in html
    assert "python manage.py seed_demo" in html


@pytest.mark.django_db
def test_the_home_page_has_the_shop_name_nav_and_a_live_offer(demo_site):
    html = Client().get("/demo/").content.decode()
    assert "Northwind Outfitters" in html
    for link in ("/demo/products/", "/demo/account/", "/demo/checkout/"):
        assert f'href="{link}"' in html
    assert 'id="live-offer"' in html
    assert '<span id="cart-count">0</span>' in html


@pytest.mark.django_db
def test_the_product_list_shows_six_products_with_images_and_links(demo_site):
    html = Client().get("/demo/products/").content.decode()
    assert html.count('class="product-card"') == 6
    for name in ("tent", "backpack", "boots", "jacket", "lantern", "bottle"):
        assert f"/static/demo/img/{name}.svg" in html
    assert 'href="/demo/products/summit-tent/"' in html


@pytest.mark.django_db
def test_a_product_page_has_quantity_and_a_visual_add_to_cart_button(demo_site):
    html = Client().get("/demo/products/ridge-backpack/").content.decode()
    assert "Ridge 45 Backpack" in html
    assert 'type="number" id="quantity"' in html
    assert '<button type="button" class="button" id="add-to-cart">Add to cart</button>' in html
    assert 'href="/demo/checkout/"' in html


@pytest.mark.django_db
def test_an_unknown_product_is_a_404(demo_site):
    assert Client().get("/demo/products/no-such-thing/").status_code == 404


@pytest.mark.django_db
def test_the_outside_page_has_no_widget_and_links_back_to_the_shop(demo_site):
    response = Client().get("/demo/outside/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Partner site (no co-browse)" in html
    assert "widget.js" not in html
    assert demo_site.key not in html
    assert 'href="/demo/"' in html


@pytest.mark.django_db
def test_the_account_page_has_the_profile_and_password_forms(demo_site):
    html = Client().get("/demo/account/").content.decode()
    for field_id in ("full-name", "email", "phone", "newsletter", "delivery-notes"):
        assert f'id="{field_id}"' in html
        assert f'for="{field_id}"' in html
    assert 'name="old_password" autocomplete="current-password"' in html
    assert 'name="new_password" autocomplete="new-password"' in html
    assert 'id="confirm-password"' in html


@pytest.mark.django_db
def test_saving_the_account_form_only_shows_a_demo_message(demo_site):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/demo/account/")
    token = page.cookies["csrftoken"].value
    response = client.post(
        "/demo/account/",
        {"csrfmiddlewaretoken": token, "full_name": "Jamie", "old_password": "secret-1"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Saved (demo: nothing is stored)" in html
    assert "secret-1" not in html


@pytest.mark.django_db
def test_checkout_has_the_address_fields_and_the_card_fields(demo_site):
    html = Client().get("/demo/checkout/").content.decode()
    assert 'id="name" name="name" autocomplete="name"' in html
    for field_id in ("address", "city", "postcode", "gift", "terms"):
        assert f'id="{field_id}"' in html
    assert '<select id="country" name="country"' in html
    assert html.count("<option value=") >= 9
    assert (
        'id="card-number" name="card_number" autocomplete="cc-number" inputmode="numeric"' in html
    )
    assert 'autocomplete="cc-exp"' in html and 'placeholder="MM/YY"' in html
    assert 'id="card-cvc" name="card_cvc" autocomplete="cc-csc"' in html
    assert (
        '<button type="submit" class="button button-large" id="place-order">Place order</button>'
        in html
    )
    assert "Order summary" in html
    assert 'id="faq"' in html


@pytest.mark.django_db
def test_placing_an_order_shows_the_confirmation_without_echoing_the_card(demo_site):
    response = Client().post(
        "/demo/checkout/",
        {"name": "Jamie Walker", "card_number": "4111111111111111", "card_cvc": "123"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Order placed" in html
    assert "4111111111111111" not in html
    assert "widget.js" in html


@pytest.mark.django_db
def test_seed_demo_creates_the_groups_users_and_site_and_prints_the_logins():
    out = run("seed_demo")

    assert set(Group.objects.values_list("name", flat=True)) >= {"Agents", "Supervisors"}
    User = get_user_model()
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser and admin.check_password("admin-demo-pass")
    alice = User.objects.get(username="agent1")
    assert (alice.first_name, alice.last_name) == ("Alice", "Agent")
    assert alice.check_password("agent1-demo-pass")
    assert list(alice.groups.values_list("name", flat=True)) == ["Agents"]
    bob = User.objects.get(username="agent2")
    assert (bob.first_name, bob.groups.get().name) == ("Bob", "Agents")
    sam = User.objects.get(username="supervisor")
    assert (sam.first_name, sam.last_name) == ("Sam", "Supervisor")
    assert sam.check_password("supervisor-demo-pass")
    assert list(sam.groups.values_list("name", flat=True)) == ["Supervisors"]

    site = Site.objects.get(name="Demo shop")
    assert site.origins == ["http://127.0.0.1:8000", "http://localhost:8000"]
    assert site.write_mode_enabled and site.submit_restricted

    # The shop on one host name, the staff pages on the other, as the README says.
    assert "  Workspace  http://localhost:8000/workspace/\n" in out
    assert "  Demo shop  http://127.0.0.1:8000/demo/\n" in out
    assert "  Admin      http://localhost:8000/admin/\n" in out
    for login in (
        "admin-demo-pass",
        "agent1-demo-pass",
        "agent2-demo-pass",
        "supervisor-demo-pass",
    ):
        assert login in out


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_keeps_the_site_key():
    run("seed_demo")
    key = Site.objects.get(name="Demo shop").key
    User = get_user_model()
    User.objects.filter(username="agent1").update(first_name="Changed")
    agent1 = User.objects.get(username="agent1")
    agent1.set_password("something-else")
    agent1.save()

    run(
        "seed_demo",
        "--origin",
        "https://Shop.Example.com:443/",
        "--origin",
        "http://127.0.0.1:8000",
    )

    assert Site.objects.count() == 1
    site = Site.objects.get(name="Demo shop")
    assert site.key == key
    assert site.origins == ["https://shop.example.com", "http://127.0.0.1:8000"]
    assert User.objects.count() == 5  # four demo people and the telephony integration user
    assert Group.objects.filter(name__in=["Agents", "Supervisors"]).count() == 2
    agent1 = User.objects.get(username="agent1")
    assert agent1.first_name == "Alice"
    assert agent1.check_password("agent1-demo-pass")
    assert agent1.groups.count() == 1


def printed_links(out: str) -> dict[str, str]:
    names = ("Workspace", "Demo shop", "Admin")
    return {
        name: line.split(name, 1)[1].strip()
        for line in out.splitlines()
        for name in names
        if line.startswith(f"  {name} ")
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "origins, shop, staff",
    [
        # scripts/demo.sh
        (
            ["http://127.0.0.1:8080", "http://localhost:8080"],
            "http://127.0.0.1:8080",
            "http://localhost:8080",
        ),
        # the end-to-end tests' server: only the shop's origin is given
        (["http://127.0.0.1:8123"], "http://127.0.0.1:8123", "http://localhost:8123"),
        (["http://localhost:9000"], "http://localhost:9000", "http://127.0.0.1:9000"),
        (["http://127.0.0.1"], "http://127.0.0.1", "http://localhost"),
        (
            ["https://shop.example.com", "https://agents.example.com"],
            "https://shop.example.com",
            "https://agents.example.com",
        ),
        # the same host name on another port shares its cookies: not another host name
        (
            ["http://127.0.0.1:8000", "http://127.0.0.1:8001"],
            "http://127.0.0.1:8000",
            "http://localhost:8000",
        ),
        # one host name we know nothing else about: the only one there is
        (["https://shop.example.com"], "https://shop.example.com", "https://shop.example.com"),
    ],
)
def test_seed_demo_prints_the_workspace_on_another_host_name_than_the_shop(origins, shop, staff):
    args = [arg for origin in origins for arg in ("--origin", origin)]
    out = run("seed_demo", *args)
    assert printed_links(out) == {
        "Workspace": f"{staff}/workspace/",
        "Demo shop": f"{shop}/demo/",
        "Admin": f"{staff}/admin/",
    }
    assert ("separate cookies" in out) == (staff != shop)


@pytest.mark.django_db
def test_seed_demo_prints_what_the_readme_tells_people_to_open():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    links = printed_links(run("seed_demo"))
    assert f"open {links['Demo shop']} and click **Start Co-browse**" in readme
    assert f"open {links['Workspace']}, log in as `agent1`" in readme


def test_the_readme_says_what_scripts_install_sh_does_and_that_both_commands_run_it():
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    two_commands = readme.split("## Two commands")[1].split("\n## ")[0]
    assert "`scripts/install.sh`" in two_commands
    install = (root / "scripts/install.sh").read_text()
    for step in ("-m venv .venv", "requirements.txt", "npm ci", "npm run", "migrate --noinput"):
        assert step in install, step
    for said in ("`.venv`", "`requirements.txt`", "`npm ci`", "`npm run build`", "migrates"):
        assert said in two_commands, said
    for script in ("demo.sh", "test.sh"):
        assert "scripts/install.sh" in (root / "scripts" / script).read_text(), script


@pytest.mark.django_db
def test_seed_demo_rejects_a_bad_origin():
    with pytest.raises(CommandError, match="not an origin"):
        run("seed_demo", "--origin", "shop.example.com")
    assert not Site.objects.exists()


@pytest.mark.django_db
def test_cobrowse_site_creates_a_site_and_prints_the_site_key_last():
    out = run(
        "cobrowse_site",
        "--name",
        "Acme",
        "--origin",
        "https://Acme.example.com:443",
        "--origin",
        "http://localhost:3000/",
        "--no-write-mode",
    )
    site = Site.objects.get(name="Acme")
    assert site.origins == ["https://acme.example.com", "http://localhost:3000"]
    assert not site.write_mode_enabled
    assert site.submit_restricted
    assert out.strip().splitlines()[-1] == f"SITE_KEY={site.key}"


@pytest.mark.django_db
def test_cobrowse_site_updates_in_place_replacing_the_origins_and_keeping_the_key():
    run("cobrowse_site", "--name", "Acme", "--origin", "https://old.example.com")
    key = Site.objects.get(name="Acme").key

    out = run(
        "cobrowse_site", "--name", "Acme", "--origin", "https://new.example.com", "--allow-submit"
    )

    site = Site.objects.get(name="Acme")
    assert Site.objects.count() == 1
    assert site.key == key
    assert site.origins == ["https://new.example.com"]
    assert not site.submit_restricted
    assert out.strip().splitlines()[-1] == f"SITE_KEY={key}"


@pytest.mark.django_db
def test_cobrowse_site_rejects_a_bad_origin_with_a_clear_message():
    with pytest.raises(CommandError, match="has a path"):
        run("cobrowse_site", "--name", "Acme", "--origin", "https://acme.example.com/shop")
    with pytest.raises(CommandError, match="not an origin"):
        run("cobrowse_site", "--name", "Acme", "--origin", "ftp://acme.example.com")
    assert not Site.objects.exists()


@pytest.mark.django_db
def test_the_strict_page_gives_its_scripts_a_fresh_nonce_that_its_policy_names(demo_site):
    first, second = Client().get("/demo/strict/"), Client().get("/demo/strict/")
    nonces = []
    for response in (first, second):
        policy = response["Content-Security-Policy"]
        nonce = policy.split("'nonce-")[1].split("'")[0]
        html = response.content.decode()
        # The widget's embed tag and the page's own scripts carry it; nothing runs without it.
        assert f'data-site="{demo_site.key}" nonce="{nonce}"' in html
        assert html.count("<script") == html.count(f'nonce="{nonce}"')
        assert "connect-src 'self' http://testserver ws://testserver" in policy
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_a_csp_report_is_logged_in_short_and_bad_reports_are_answered_without_error(caplog):
    client = Client()
    report = {"csp-report": {"effective-directive": "style-src-attr", "blocked-uri": "inline"}}
    response = client.post(
        "/demo/csp-report/", json.dumps(report), content_type="application/csp-report"
    )
    assert response.status_code == 204
    assert "style-src-attr blocked inline" in caplog.text
    for body in (b"not json", b"[1, 2]", b"{" + b" " * 20_000 + b"}"):
        caplog.clear()
        response = client.post("/demo/csp-report/", body, content_type="application/csp-report")
        assert response.status_code == 204
        assert "CSP violation" not in caplog.text
    assert client.get("/demo/csp-report/").status_code == 405
