"""The widget speaks the page's language (issue 16): German, French and Spanish from <html lang>
or the embed's data-lang, English for any other, in every state the customer sees."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import join, login, mirror, screenshot, widget
from tests.e2e.test_write_mode import ask_for_write_mode

pytestmark = pytest.mark.e2e

CODE = re.compile(r"^\d{3} \d{3} \d{3}$")


def open_shop(customer, server, query: str):
    customer.goto(server.customer_base + "/demo/checkout/?" + query)
    return widget(customer)


def test_a_german_page_gets_the_whole_session_in_german(server, customer, agent_page, request):
    w = open_shop(customer, server, "lang=de")
    expect(w.get_by_test_id("cobrowse-start")).to_have_text("Co-Browsing starten")
    expect(w.get_by_test_id("chat-open")).to_have_text("Chatten Sie mit uns")
    w.get_by_test_id("cobrowse-start").click()
    expect(w.get_by_test_id("cobrowse-session-id")).to_have_text(CODE)
    expect(w.get_by_text("Ihre Co-Browsing-Sitzungs-ID")).to_be_visible()
    expect(w.get_by_role("status").first).to_have_text("Warten auf einen Mitarbeiter…")
    code = w.get_by_test_id("cobrowse-session-id").inner_text()

    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    expect(mirror(agent_page).locator("#name")).to_be_visible()
    notices = w.get_by_test_id("cobrowse-notices")
    expect(notices).to_contain_text("Alice Agent ist beigetreten und sieht diese Seite.")
    expect(w.get_by_text("Co-Browsing mit Alice Agent")).to_be_visible()

    ask_for_write_mode(agent_page, customer)
    expect(w.get_by_test_id("cobrowse-approve-write")).to_have_text("Erlauben")
    expect(w.get_by_test_id("cobrowse-deny-write")).to_have_text("Ablehnen")
    expect(w.get_by_role("alertdialog")).to_contain_text("Alice Agent bittet um den Schreibmodus")
    screenshot(request, customer=customer)
    w.get_by_test_id("cobrowse-deny-write").click()

    # Nothing English slipped through the states so far.
    shown = w.evaluate("host => host.shadowRoot.textContent")
    for english in ("Waiting for", "joined and can see", "Start Co-browse", "asks for write mode"):
        assert english not in shown

    agent_page.get_by_test_id("exit-session").click()
    expect(notices).to_contain_text("Der Mitarbeiter hat das Co-Browsing beendet.")
    expect(w.get_by_test_id("cobrowse-start")).to_have_text("Co-Browsing starten")


@pytest.mark.parametrize(
    ("query", "start", "label"),
    [
        ("lang=fr-FR", "Démarrer le co-browsing", "Votre identifiant de session de co-browsing"),
        ("lang=es", "Iniciar co-navegación", "Su ID de sesión de co-navegación"),
        # The embed tag's data-lang wins over the page's language.
        ("lang=de&widget_lang=es", "Iniciar co-navegación", "Su ID de sesión de co-navegación"),
        # A language without a catalog falls back to English.
        ("lang=ja", "Start Co-browse", "Your co-browse session ID"),
    ],
)
def test_the_widget_follows_the_page_or_the_embed_tag(server, customer, query, start, label):
    w = open_shop(customer, server, query)
    expect(w.get_by_test_id("cobrowse-start")).to_have_text(start)
    w.get_by_test_id("cobrowse-start").click()
    expect(w.get_by_test_id("cobrowse-session-id")).to_have_text(CODE)
    expect(w.get_by_text(label)).to_be_visible()
    w.get_by_test_id("cobrowse-exit").click()
    expect(w.get_by_test_id("cobrowse-start")).to_be_visible()
