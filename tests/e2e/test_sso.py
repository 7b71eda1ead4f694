"""Single sign-on, end to end: Chromium, a daphne configured for OpenID Connect by its
environment as an operator would, and a real provider (tests/oidc/provider.mjs) on loopback."""

import re
from urllib.parse import urljoin

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, Server
from tests.e2e.helpers import screenshot
from tests.oidc.provider import CLIENT_ID, CLIENT_SECRET, OIDCProvider, account

pytestmark = pytest.mark.e2e

REFUSED = "Single sign-on did not sign you in"


@pytest.fixture(scope="module")
def sso_server(tmp_path_factory):
    """One provider and one daphne for the module; accounts are set by each test."""
    tmp = tmp_path_factory.mktemp("sso")
    server = Server(tmp, name="daphne-sso")
    provider = OIDCProvider(
        tmp,
        redirect_uris=[f"{server.agent_base}/oidc/callback/"],
        log=ARTIFACTS / "oidc-provider.log",
    )
    server.env.update(
        OIDC_OP_ISSUER=provider.issuer,
        OIDC_RP_CLIENT_ID=CLIENT_ID,
        OIDC_RP_CLIENT_SECRET=CLIENT_SECRET,
        OIDC_RP_SCOPES="openid email profile groups",
        OIDC_AGENT_GROUPS="cc-agents",
        OIDC_SUPERVISOR_GROUPS="cc-leads",
    )
    provider.start()
    try:
        server.manage("migrate", "--noinput")  # no demo data: these tests need none
        server.start(seed=False)
        server.provider = provider
        yield server
    finally:
        server.stop()
        provider.stop()


def click_single_sign_on(page: Page, base: str) -> None:
    page.goto(base + "/accounts/login/?next=/workspace/")
    page.get_by_role("button", name="Sign in with single sign-on").click()


def sign_in_at_provider(page: Page, username: str) -> None:
    expect(page.get_by_role("heading", name="Test identity provider: sign in")).to_be_visible()
    page.fill("#username", username)
    page.fill("#password", f"{username}-idp-pass")
    page.click("#sign-in")


def test_an_agent_signs_in_with_single_sign_on_and_lands_in_the_workspace(
    sso_server, agent_page, request
):
    sso_server.provider.set_accounts(
        account("ada", "cc-agents", given_name="Ada", family_name="Lovelace")
    )
    click_single_sign_on(agent_page, sso_server.agent_base)
    assert agent_page.url.startswith(sso_server.provider.issuer + "/interaction/")
    sign_in_at_provider(agent_page, "ada")

    expect(agent_page).to_have_url(sso_server.agent_base + "/workspace/")
    expect(agent_page.get_by_test_id("join-cobrowse")).to_be_enabled()
    expect(agent_page.locator(".topbar .who")).to_have_text("Ada Lovelace")
    screenshot(request, agent=agent_page)


def test_someone_in_neither_group_sees_the_not_an_agent_page(sso_server, agent_page):
    sso_server.provider.set_accounts(account("pat", "night-shift"))
    click_single_sign_on(agent_page, sso_server.agent_base)
    sign_in_at_provider(agent_page, "pat")

    expect(agent_page).to_have_url(sso_server.agent_base + "/workspace/")
    expect(agent_page.get_by_role("heading")).to_have_text("The Agent Workspace is for agents")
    expect(agent_page.get_by_test_id("join-cobrowse")).to_have_count(0)


def test_a_group_removed_at_the_provider_removes_the_role_at_the_next_sign_in(
    sso_server, agent_page
):
    sso_server.provider.set_accounts(account("max", "cc-agents"))
    click_single_sign_on(agent_page, sso_server.agent_base)
    sign_in_at_provider(agent_page, "max")
    expect(agent_page.get_by_test_id("join-cobrowse")).to_be_enabled()

    sso_server.provider.set_accounts(account("max"))  # an administrator removes the group
    agent_page.get_by_role("button", name="Log out").click()
    expect(agent_page).to_have_url(re.compile(r"/accounts/login/$"))
    # Logging out here does not sign out at the provider: the next sign-on asks for nothing.
    click_single_sign_on(agent_page, sso_server.agent_base)
    expect(agent_page).to_have_url(sso_server.agent_base + "/workspace/")
    expect(agent_page.get_by_role("heading")).to_have_text("The Agent Workspace is for agents")


def test_a_callback_with_a_foreign_or_tampered_state_is_refused(
    sso_server, agent_page, second_agent_page
):
    sso_server.provider.set_accounts(account("eve", "cc-agents"))
    # Hold the browser at the provider's answer to the sign-in: the redirects that follow are
    # not routed by Playwright, so they are made here, up to the callback URL, which is kept.
    held: list[str] = []

    def hold(route):
        if route.request.method != "POST":
            route.continue_()
            return
        resume = route.fetch(max_redirects=0).headers["location"]
        back = agent_page.request.get(urljoin(route.request.url, resume), max_redirects=0)
        held.append(back.headers["location"])
        route.fulfill(status=200, content_type="text/html", body="<p>Held.</p>")

    agent_page.route("**/interaction/*", hold)
    click_single_sign_on(agent_page, sso_server.agent_base)
    sign_in_at_provider(agent_page, "eve")
    expect(agent_page.get_by_text("Held.")).to_be_visible()
    callback = held[0]
    assert callback.startswith(sso_server.agent_base + "/oidc/callback/?code=")

    # Another browser (a victim handed the attacker's link) is not signed in.
    second_agent_page.goto(callback)
    expect(second_agent_page).to_have_url(sso_server.agent_base + "/accounts/login/")
    expect(second_agent_page.get_by_role("alert")).to_contain_text(REFUSED)
    second_agent_page.goto(sso_server.agent_base + "/workspace/")
    expect(second_agent_page).to_have_url(re.compile(r"/accounts/login/\?next=/workspace/$"))

    # The same browser with the state changed is not signed in either.
    state = re.search(r"[?&]state=([^&]+)", callback).group(1)
    changed = state[:-1] + ("y" if state.endswith("x") else "x")
    agent_page.goto(callback.replace(f"state={state}", f"state={changed}"))
    expect(agent_page).to_have_url(sso_server.agent_base + "/accounts/login/")
    expect(agent_page.get_by_role("alert")).to_contain_text(REFUSED)

    # The real callback, in the browser that started the sign-in, still works.
    agent_page.goto(callback)
    expect(agent_page).to_have_url(sso_server.agent_base + "/workspace/")
    expect(agent_page.get_by_test_id("join-cobrowse")).to_be_enabled()
