"""The autocomplete table: the spec's parser, the fail-closed sensitivity rule, and the selectors.

SPELLINGS is the shared table: for each autocomplete value, what the spec's processing model makes
of it and whether it is masked. The guard's engine (soupsieve on a BeautifulSoup tree) is checked
against it here; tests/e2e/test_autocomplete_browser.py checks the widget's engine (Chromium) on
the same rows, so the two sides agree by construction.
"""

import random

import pytest
import soupsieve
from bs4 import BeautifulSoup
from hypothesis import given
from hypothesis import strategies as st

from policies.autocomplete import (
    CARD,
    FIELD_NAMES,
    ONE_TIME_CODE,
    PASSWORD,
    SENSITIVE_FIELDS,
    Autofill,
    parse,
    sensitive_category,
    sensitive_selectors,
)

A = Autofill

# (autocomplete value, parse() result, sensitive_category() result)
SPELLINGS: list[tuple[str, Autofill | None, str | None]] = [
    # The spellings from the issue, which reached the agent in clear.
    ("cc-number", A(field="cc-number"), CARD),
    ("CC-Number", A(field="cc-number"), CARD),
    ("billing CC-CSC", A(mode="billing", field="cc-csc"), CARD),
    (
        "section-login one-time-code",
        A(section="section-login", field="one-time-code"),
        ONE_TIME_CODE,
    ),
    ("section-signup new-password", A(section="section-signup", field="new-password"), PASSWORD),
    # Case, section and mode.
    ("CC-NUMBER", A(field="cc-number"), CARD),
    ("shipping cc-exp", A(mode="shipping", field="cc-exp"), CARD),
    (
        "SECTION-x Billing cc-number",
        A(section="section-x", mode="billing", field="cc-number"),
        CARD,
    ),
    ("section- cc-csc", A(section="section-", field="cc-csc"), CARD),  # an empty section name
    ("ONE-TIME-CODE", A(field="one-time-code"), ONE_TIME_CODE),
    ("Current-Password", A(field="current-password"), PASSWORD),
    # Every other card field.
    ("cc-name", A(field="cc-name"), CARD),
    ("cc-given-name", A(field="cc-given-name"), CARD),
    ("cc-additional-name", A(field="cc-additional-name"), CARD),
    ("cc-family-name", A(field="cc-family-name"), CARD),
    ("cc-exp-month", A(field="cc-exp-month"), CARD),
    ("billing cc-exp-year", A(mode="billing", field="cc-exp-year"), CARD),
    ("cc-type", A(field="cc-type"), CARD),
    # webauthn: once, last, after a field name.
    ("current-password webauthn", A(field="current-password", webauthn=True), PASSWORD),
    ("new-password WEBAUTHN", A(field="new-password", webauthn=True), PASSWORD),
    ("username webauthn", A(field="username", webauthn=True), None),
    ("webauthn", A(field="webauthn", webauthn=True), None),  # valid alone; names no data
    (
        "section-a billing cc-number webauthn",
        A(section="section-a", mode="billing", field="cc-number", webauthn=True),
        CARD,
    ),
    (
        "section-a shipping mobile tel webauthn",
        A(section="section-a", mode="shipping", contact="mobile", field="tel", webauthn=True),
        None,
    ),
    ("cc-number webauthn webauthn", None, CARD),
    ("webauthn cc-number", None, CARD),
    ("on webauthn", None, None),
    # Contact tokens, only before contact fields.
    ("email", A(field="email"), None),
    ("work email", A(contact="work", field="email"), None),
    ("home tel", A(contact="home", field="tel"), None),
    ("fax email", A(contact="fax", field="email"), None),
    (
        "Billing PAGER tel-extension",
        A(mode="billing", contact="pager", field="tel-extension"),
        None,
    ),
    ("tel-national", A(field="tel-national"), None),
    ("mobile cc-number", None, CARD),  # contact token before a non-contact field
    ("work cc-csc", None, CARD),
    ("home billing tel", None, None),  # contact before mode
    # Not sensitive, valid.
    ("nickname", A(field="nickname"), None),
    ("organization", A(field="organization"), None),
    ("street-address", A(field="street-address"), None),
    ("username", A(field="username"), None),
    ("shipping postal-code", A(mode="shipping", field="postal-code"), None),
    # No field: empty, on/off.
    ("off", None, None),
    ("on", None, None),
    ("OFF", None, None),
    ("", None, None),
    ("   ", None, None),
    ("section-x", None, None),
    # Near misses: not the name.
    ("cc-numberx", None, None),
    ("xcc-number", None, None),
    ("cc-number-", None, None),
    ("cc_number", None, None),
    ("section-cc-number", None, None),  # a section token, and no field
    # ASCII whitespace of every kind separates tokens.
    ("billing\tcc-number", A(mode="billing", field="cc-number"), CARD),
    (
        "section-pay\nbilling\fcc-exp-year",
        A(section="section-pay", mode="billing", field="cc-exp-year"),
        CARD,
    ),
    ("\r\n cc-csc \t", A(field="cc-csc"), CARD),
    ("section-a\r\nnew-password", A(section="section-a", field="new-password"), PASSWORD),
    # Invalid by the spec, sensitive by the fail-closed rule.
    ("cc-number\tbilling", None, CARD),  # wrong order
    ("cc-number foo", None, CARD),
    ("foo cc-number", None, CARD),
    ("a b c cc-number", None, CARD),  # too many tokens
    ("section-a billing home cc-number", None, CARD),
    ("section-a section-b cc-number", None, CARD),
    ("billing shipping cc-number", None, CARD),
    ("section cc-number", None, CARD),  # "section" without the hyphen
    ("cc-number off", None, CARD),
    ("off cc-number", None, CARD),
    ("cc-exp-month cc-exp-year", None, CARD),
    ("new-password current-password", None, PASSWORD),
    ("new-password cc-number", None, CARD),  # several sensitive names: the last one wins
    # Not ASCII whitespace, not ASCII case: one token, and no field name (as browsers see it).
    ("cc-number\x0bbilling", None, None),  # vertical tab
    ("cc-number\u00a0", None, None),  # no-break space
    ("cc-number\u2003foo", None, None),  # em space
    ("cc\u2011number", None, None),  # non-breaking hyphen
    ("nic\u212aname", None, None),  # Kelvin sign: str.lower() would make it "nickname"
    ("current-pa\u017fsword", None, None),  # long s: str.casefold() would make it "password"
    ("one-t\u0130me-code", None, None),  # dotted capital I
]

IDS = [repr(value) for value, _, _ in SPELLINGS]
TAGS = ("input", "textarea", "select")
SELECTORS = ", ".join(sensitive_selectors())


def generated_spellings(count: int, seed: int) -> list[str]:
    """Random autocomplete values built from real tokens, mixed case and every separator.

    Deterministic for a seed, so the browser test can check the same values as this file.
    """
    rng = random.Random(seed)
    vocabulary = [
        *FIELD_NAMES,
        *["home", "work", "mobile", "fax", "pager", "shipping", "billing", "webauthn", "on"],
        *["off", "section-a", "section-", "section", "x", "cc-", "cc-numberx", "xcc-csc"],
    ]
    separators = [" ", "\t", "\n", "\f", "\r", "  ", "\x0b", "\u00a0"]

    def cased(token: str) -> str:
        return "".join(c.upper() if rng.random() < 0.3 else c for c in token)

    values = []
    for _ in range(count):
        tokens = [cased(rng.choice(vocabulary)) for _ in range(rng.randint(1, 6))]
        value = ""
        for token in tokens:
            value += token + rng.choice(separators)
        values.append(value if rng.random() < 0.5 else value.rstrip(" \t\n\f\r\x0b\u00a0"))
    return values


def element(tag: str, value: str | None):
    """A BeautifulSoup element as the guard builds them (new_tag, the value as sent)."""
    soup = BeautifulSoup("", "html.parser")
    attrs = {} if value is None else {"autocomplete": value}
    el = soup.new_tag(tag, attrs=attrs)
    soup.append(el)
    return el


def test_the_table_is_large_and_has_no_repeats():
    values = [value for value, _, _ in SPELLINGS]
    assert len(values) >= 30
    assert len(set(values)) == len(values)
    assert {SENSITIVE_FIELDS.get(a.field) for _, a, _ in SPELLINGS if a} >= {
        CARD,
        PASSWORD,
        ONE_TIME_CODE,
        None,
    }


@pytest.mark.parametrize(("value", "expected", "category"), SPELLINGS, ids=IDS)
def test_spelling(value, expected, category):
    assert parse(value) == expected
    assert sensitive_category(value) == category
    pattern = soupsieve.compile(SELECTORS)
    for tag in TAGS:
        assert pattern.match(element(tag, value)) is bool(category), tag


@pytest.mark.parametrize(("value", "expected", "category"), SPELLINGS, ids=IDS)
def test_a_valid_spelling_round_trips_through_its_idl_value(value, expected, category):
    if expected is None:
        return
    assert parse(expected.idl_value) == expected
    assert expected.category == category  # a valid value is sensitive by its field name alone


def test_the_sensitive_fields_are_the_card_password_and_one_time_code_fields():
    cards = [name for name in FIELD_NAMES if name.startswith("cc-")]
    assert len(cards) == 10
    assert dict(SENSITIVE_FIELDS) == {
        **dict.fromkeys(cards, CARD),
        "current-password": PASSWORD,
        "new-password": PASSWORD,
        "one-time-code": ONE_TIME_CODE,
    }


def test_the_table_holds_the_specs_field_names():
    assert len(FIELD_NAMES) == 54
    contact = {name for name, (kind, _) in FIELD_NAMES.items() if kind == "contact"}
    assert contact == {
        "tel",
        "tel-country-code",
        "tel-national",
        "tel-area-code",
        "tel-local",
        "tel-local-prefix",
        "tel-local-suffix",
        "tel-extension",
        "email",
        "impp",
    }


@pytest.mark.parametrize("name", list(FIELD_NAMES))
def test_every_field_name_parses_in_every_position(name):
    contact = FIELD_NAMES[name][0] == "contact"
    assert parse(name) == A(field=name)
    assert parse(name.upper()) == A(field=name)
    assert parse(f"section-q shipping {name} webauthn") == A(
        section="section-q", mode="shipping", field=name, webauthn=True
    )
    full = parse(f"Section-Q BILLING Work {name.upper()} WebAuthn")
    assert full == (
        A(section="section-q", mode="billing", contact="work", field=name, webauthn=True)
        if contact
        else None
    )
    assert sensitive_category(f"junk {name} more junk") == SENSITIVE_FIELDS.get(name)


def test_the_selectors_compile_one_per_sensitive_field():
    selectors = sensitive_selectors()
    assert len(selectors) == len(SENSITIVE_FIELDS) == 13
    assert selectors[list(SENSITIVE_FIELDS).index("cc-number")] == '[autocomplete~="cc-number" i]'
    for selector in selectors:
        compiled = soupsieve.compile(selector)
        (attribute,) = compiled.selectors[0].attributes
        assert attribute.attribute == "autocomplete" and attribute.ignore_case


def test_an_element_without_the_attribute_is_not_matched():
    pattern = soupsieve.compile(SELECTORS)
    for tag in TAGS:
        assert not pattern.match(element(tag, None))
        assert not pattern.match(element(tag, ""))


def test_generated_spellings_agree_between_the_rule_the_selectors_and_the_parser():
    pattern = soupsieve.compile(SELECTORS)
    values = generated_spellings(2000, seed=10)
    for value in values:
        category = sensitive_category(value)
        assert pattern.match(element("input", value)) is bool(category), repr(value)
        parsed = parse(value)
        if parsed is not None:
            assert parsed.category == category, repr(value)
            assert parse(parsed.idl_value) == parsed, repr(value)
    # The generator reaches every outcome often enough to mean something.
    assert sum(parse(v) is not None for v in values) > 100
    assert sum(sensitive_category(v) is not None for v in values) > 300


_SEPARATORS = st.sampled_from([" ", "\t", "\n", "\f", "\r", "\x0b", "\u00a0", "\u2003", ""])
_TOKENS = st.one_of(
    st.sampled_from([*FIELD_NAMES, "webauthn", "billing", "home", "section-", "on", "off"]),
    st.text(alphabet="cC-nNumberxsSKk\u212a\u017f\u0130\u0131 \t", max_size=12),
)


@given(st.lists(st.tuples(_TOKENS, _SEPARATORS), max_size=6))
def test_any_value_matches_the_selectors_exactly_when_the_rule_says_so(parts):
    value = "".join(token + sep for token, sep in parts)
    category = sensitive_category(value)
    assert soupsieve.match(SELECTORS, element("input", value)) is bool(category)
    parsed = parse(value)
    if parsed is not None:
        assert parsed.category == category
