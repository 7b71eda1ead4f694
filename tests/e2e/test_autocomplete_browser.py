"""The widget's engine agrees with the guard's on every autocomplete spelling.

The widget masks in the customer's browser with element.matches(); the guard re-applies the same
selectors with soupsieve (tests/test_autocomplete.py). Here real headless Chromium runs the same
table: its matches() must equal sensitive_category() for every row, and its own reading of the
attribute (the `autocomplete` IDL attribute, the spec's "IDL-exposed autofill value") must equal
parse(), so the Python parser is checked against a browser's implementation of the spec.
No server: the page is set with page.set_content().

One known difference, modelled below: Chromium drops repeated tokens before it parses, so it
accepts "cc-number webauthn webauthn" and "on on", which the spec (and parse()) reject. Masking
does not depend on it: sensitive_category() and the `~=` selectors ignore repeats anyway.
"""

import re
import string

import pytest

from policies.autocomplete import parse, sensitive_category, sensitive_selectors
from tests.test_autocomplete import SPELLINGS, TAGS, generated_spellings

pytestmark = pytest.mark.e2e

SELECTORS = ", ".join(sensitive_selectors())
ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)

# For each value and tag: a fresh element with the attribute set through the DOM (not parsed
# from HTML, which would rewrite CR and CRLF), then what Chromium makes of it.
CHECK = """([values, tags, selectors]) => values.map(value => tags.map(tag => {
    const el = document.createElement(tag);
    el.setAttribute("autocomplete", value);
    document.body.append(el);
    const result = {matches: el.matches(selectors), idl: el.autocomplete};
    el.remove();
    return result;
}))"""


def chromium_tokens(value: str) -> list[str]:
    """The tokens as Chromium reads them: split on ASCII whitespace, lowercased, and repeats
    dropped (Blink splits into a SpaceSplitString, an ordered set; the spec keeps repeats)."""
    tokens = [t.translate(ASCII_LOWER) for t in re.split(r"[\t\n\f\r ]+", value) if t]
    return list(dict.fromkeys(tokens))


def expected_idl(value: str) -> str:
    """What Chromium's `element.autocomplete` returns, from parse(): the spec's IDL-exposed value.

    "on" and "off" name no field (parse() returns None) but are exposed as themselves; every
    other value parse() rejects is exposed as "".
    """
    tokens = chromium_tokens(value)
    parsed = parse(" ".join(tokens))
    if parsed is not None:
        return parsed.idl_value
    return tokens[0] if tokens in (["on"], ["off"]) else ""


def check(page, values: list[str]) -> list[str]:
    """Every disagreement between Chromium and the Python side, as readable lines."""
    page.set_content("<!doctype html><html><body></body></html>")
    results = page.evaluate(CHECK, [values, list(TAGS), SELECTORS])
    problems = []
    for value, per_tag in zip(values, results, strict=True):
        masked = bool(sensitive_category(value))
        for tag, result in zip(TAGS, per_tag, strict=True):
            if result["matches"] is not masked:
                problems.append(f"{tag} {value!r}: Chromium matches={result['matches']}")
            if result["idl"] != expected_idl(value):
                problems.append(f"{tag} {value!r}: Chromium reads {result['idl']!r}")
    return problems


def test_chromium_masks_and_parses_every_spelling_as_the_guard_does(page):
    values = [value for value, _, _ in SPELLINGS]
    assert check(page, values) == []


def test_chromium_only_departs_from_the_spec_on_repeated_tokens(page):
    values = [value for value, _, _ in SPELLINGS]
    departs = [v for v in values if parse(" ".join(chromium_tokens(v))) != parse(v)]
    assert departs == ["cc-number webauthn webauthn"]
    page.set_content(
        "<input autocomplete='cc-number webauthn webauthn'><input autocomplete='on on'>"
    )
    assert page.eval_on_selector_all("input", "els => els.map(e => e.autocomplete)") == [
        "cc-number webauthn",
        "on",
    ]


def test_chromium_agrees_on_generated_spellings(page):
    # The same generator and seed as the soupsieve test in tests/test_autocomplete.py.
    assert check(page, generated_spellings(2000, seed=10)) == []
