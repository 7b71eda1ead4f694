"""The Agent Workspace in a French browser, in real Chromium: the page, what its script writes and
what the server says over the socket are French; the header's switcher changes the language."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.helpers import eventually, join, login, mirror, start_cobrowse

pytestmark = pytest.mark.e2e

# Buttons and chips of the visible toolbar whose text does not fit them (cut, wrapped, spilling).
OVERFLOWING = """() => [...document.querySelectorAll('.toolbar button, .toolbar .chip, .join button')]
  .filter(el => el.offsetParent !== null)
  .filter(el => el.scrollWidth > el.clientWidth + 1 || el.getClientRects().length > 1
    || el.getBoundingClientRect().height > 48)
  .map(el => el.textContent.trim())"""


@pytest.fixture
def french_agent(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_a_french_agent_works_in_french_from_join_to_exit(server, customer, french_agent):
    code = start_cobrowse(customer, server.customer_base + "/demo/checkout/")
    login(french_agent, server.agent_base, "agent1")
    page = french_agent
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_test_id("join-cobrowse")).to_have_text("Rejoindre")
    expect(page.get_by_test_id("cobrowse-tab")).to_have_text("Co-navigation")
    expect(page.locator("label[for=session-id]")).to_have_text("ID de session")

    join(page, code)
    expect(mirror(page).locator("#name")).to_be_visible()
    # Written by workspace.js from the page's catalog: the status chip and the write toggle.
    expect(page.locator("#session-status")).to_have_text("En direct")
    expect(page.get_by_test_id("write-mode-toggle")).to_have_text("Mode écriture\u00a0: désactivé")
    expect(page.get_by_test_id("exit-session")).to_have_text("Quitter la session")
    assert eventually(lambda: page.evaluate(OVERFLOWING), lambda cut: cut == []) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "workspace-fr-live.png"))

    # The server's words over the socket are in the agent's language too (sessions_app/i18n.py).
    page.get_by_test_id("exit-session").click()
    expect(page.locator("#session-status")).to_have_text("Terminée")
    expect(page.locator("#session-banner")).to_have_text(
        "L\u2019agent a mis fin à la co-navigation."
    )
    page.screenshot(path=str(ARTIFACTS / "workspace-fr-ended.png"))

    # The header's switcher: German now, whatever the browser says, on the next page too.
    page.get_by_test_id("language-select").select_option("de")
    page.get_by_test_id("language-submit").click()
    expect(page.get_by_test_id("join-cobrowse")).to_have_text("Co-Browsing beitreten")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.reload()
    expect(page.get_by_test_id("exit-session")).to_have_text("Sitzung verlassen")
    expect(page.get_by_test_id("language-select")).to_have_value("de")
