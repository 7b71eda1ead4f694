"""The `autocomplete` attribute, read as the HTML spec reads it, and which of its fields we mask.

One table (FIELD_NAMES) lists every autofill field name of the HTML spec and marks the sensitive
ones. Everything else is derived from it:

- parse() is the spec's processing model for the attribute ("autofill processing model",
  https://html.spec.whatwg.org/multipage/form-control-infrastructure.html#autofill-processing-model):
  what a browser understands the attribute to mean.
- sensitive_category() says whether a value names a sensitive field. It fails closed: any token
  that is a sensitive field name counts, even where the spec would call the whole value invalid.
- sensitive_selectors() are CSS selectors that match exactly the elements sensitive_category()
  flags. The widget (rrweb, in the customer's browser) and the server guard (soupsieve, on the
  serialized tree) both mask with them, so the two sides agree without sharing code.

Pure Python, no Django: the guard, the policy compiler and the tests import it alike.

Two details of the spec that every step below relies on:

- Tokens are compared ASCII case-insensitively: only A-Z fold to a-z. Python's str.lower() folds
  more (the Kelvin sign U+212A becomes "k"), which a browser would not do, so _ascii_lower() is
  used throughout. CSS's `i` attribute flag is ASCII-only too, as is soupsieve's.
- The value is split on ASCII whitespace: tab, line feed, form feed, carriage return and space.
  str.split() also splits on vertical tab, no-break space and other Unicode spaces; a browser does
  not, and neither does the `~=` attribute selector.
"""

import re
from dataclasses import dataclass
from types import MappingProxyType

# Kinds of field name, from the spec's "determine a field's category" table. A kind fixes how
# many tokens the whole attribute may have: [section-*] [shipping|billing] field for a normal
# field; a contact field may also take one of CONTACT_TOKENS just before it.
NORMAL = "normal"
CONTACT = "contact"

# Sensitive categories: what a mask is for. Every other field name is not masked by this table
# (a site's own rules may still mask it).
CARD = "card"
PASSWORD = "password"
ONE_TIME_CODE = "one-time-code"

# The spec's autofill field names, in the spec's order: name -> (kind, sensitive category).
FIELD_NAMES: MappingProxyType[str, tuple[str, str | None]] = MappingProxyType(
    {
        "name": (NORMAL, None),
        "honorific-prefix": (NORMAL, None),
        "given-name": (NORMAL, None),
        "additional-name": (NORMAL, None),
        "family-name": (NORMAL, None),
        "honorific-suffix": (NORMAL, None),
        "nickname": (NORMAL, None),
        "organization-title": (NORMAL, None),
        "username": (NORMAL, None),
        "new-password": (NORMAL, PASSWORD),
        "current-password": (NORMAL, PASSWORD),
        "one-time-code": (NORMAL, ONE_TIME_CODE),
        "organization": (NORMAL, None),
        "street-address": (NORMAL, None),
        "address-line1": (NORMAL, None),
        "address-line2": (NORMAL, None),
        "address-line3": (NORMAL, None),
        "address-level4": (NORMAL, None),
        "address-level3": (NORMAL, None),
        "address-level2": (NORMAL, None),
        "address-level1": (NORMAL, None),
        "country": (NORMAL, None),
        "country-name": (NORMAL, None),
        "postal-code": (NORMAL, None),
        # Every field of a payment instrument, the cardholder's name and the card type included.
        "cc-name": (NORMAL, CARD),
        "cc-given-name": (NORMAL, CARD),
        "cc-additional-name": (NORMAL, CARD),
        "cc-family-name": (NORMAL, CARD),
        "cc-number": (NORMAL, CARD),
        "cc-exp": (NORMAL, CARD),
        "cc-exp-month": (NORMAL, CARD),
        "cc-exp-year": (NORMAL, CARD),
        "cc-csc": (NORMAL, CARD),
        "cc-type": (NORMAL, CARD),
        "transaction-currency": (NORMAL, None),
        "transaction-amount": (NORMAL, None),
        "language": (NORMAL, None),
        "bday": (NORMAL, None),
        "bday-day": (NORMAL, None),
        "bday-month": (NORMAL, None),
        "bday-year": (NORMAL, None),
        "sex": (NORMAL, None),
        "url": (NORMAL, None),
        "photo": (NORMAL, None),
        # Contact fields: the only ones that may be preceded by home/work/mobile/fax/pager.
        "tel": (CONTACT, None),
        "tel-country-code": (CONTACT, None),
        "tel-national": (CONTACT, None),
        "tel-area-code": (CONTACT, None),
        "tel-local": (CONTACT, None),
        "tel-local-prefix": (CONTACT, None),
        "tel-local-suffix": (CONTACT, None),
        "tel-extension": (CONTACT, None),
        "email": (CONTACT, None),
        "impp": (CONTACT, None),
    }
)

# Sensitive field name -> category, for the guard and the widget's policy.
SENSITIVE_FIELDS: MappingProxyType[str, str] = MappingProxyType(
    {name: category for name, (_, category) in FIELD_NAMES.items() if category}
)

# The other tokens the processing model knows.
CONTACT_TOKENS = ("home", "work", "mobile", "fax", "pager")  # only before a contact field
MODE_TOKENS = ("shipping", "billing")
SECTION_PREFIX = "section-"  # "section-" followed by anything (or nothing): an opaque group name
WEBAUTHN = "webauthn"  # at most once, after the field name
ON_OFF = ("on", "off")  # alone only; they say whether to autofill, not what the field holds

# The spec's "maximum number of tokens" per kind: section + mode + field is 3; a contact field
# adds a contact token (4); webauthn adds one more (5).
_MAX_TOKENS = {NORMAL: 3, CONTACT: 4, WEBAUTHN: 5, "on": 1, "off": 1}

_ASCII_WHITESPACE = re.compile(r"[\t\n\f\r ]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _ascii_lower(token: str) -> str:
    return token.translate(_ASCII_LOWER)


def _tokens(value: str) -> list[str]:
    """The value split on ASCII whitespace, each token ASCII-lowercased (spec: "split on ASCII
    whitespace"; every later comparison is ASCII case-insensitive, so lowercase once here)."""
    return [_ascii_lower(t) for t in _ASCII_WHITESPACE.split(value) if t]


def _kind(token: str) -> str | None:
    """The spec's "determine a field's category", for an already-lowercased token."""
    if token in FIELD_NAMES:
        return FIELD_NAMES[token][0]
    if token == WEBAUTHN or token in ON_OFF:
        return token
    return None


@dataclass(frozen=True, kw_only=True)
class Autofill:
    """A valid autocomplete value, tokens ASCII-lowercased.

    `field` is the autofill field name ("cc-number"), `contact` one of CONTACT_TOKENS, `mode`
    "shipping" or "billing", `section` the whole "section-..." token, `webauthn` whether the
    value ends with "webauthn". A lone "webauthn" is valid too: it names no data field, and is
    represented as field="webauthn", webauthn=True. (The spec's own "autofill field name" stays
    "webauthn" even after a field name, e.g. for "current-password webauthn"; here `field` is the
    name of the data, "current-password", since that is what decides a mask.)
    """

    section: str | None = None
    mode: str | None = None
    contact: str | None = None
    field: str
    webauthn: bool = False

    @property
    def category(self) -> str | None:
        """The sensitive category of the field, or None."""
        return SENSITIVE_FIELDS.get(self.field)

    @property
    def idl_value(self) -> str:
        """The spec's "IDL-exposed autofill value": what `element.autocomplete` returns."""
        parts = [self.section, self.mode, self.contact, self.field]
        if self.webauthn and self.field != WEBAUTHN:
            parts.append(WEBAUTHN)
        return " ".join(p for p in parts if p)


def parse(value: str) -> Autofill | None:
    """The spec's autofill processing model for one autocomplete value.

    None where the spec falls back to its default (the value is empty, invalid, or tokens are in
    the wrong place), and for "on" and "off", which name no field. The steps follow the spec's,
    reading the tokens from the end: [webauthn], field name, [contact], [mode], [section].

    Chromium departs from the spec in one way: it drops repeated tokens before these steps, so
    its `element.autocomplete` accepts "cc-number webauthn webauthn" and "on on". This follows
    the spec; masking is unaffected, as repeats change neither sensitive_category() nor `~=`.
    """
    tokens = _tokens(value)
    if not tokens:
        return None
    index = len(tokens) - 1
    field = tokens[index]
    kind = _kind(field)
    if kind is None or len(tokens) > _MAX_TOKENS[kind] or kind in ON_OFF:
        return None

    webauthn = False
    if kind == WEBAUTHN:
        webauthn = True
        if index == 0:
            return Autofill(field=WEBAUTHN, webauthn=True)
        index -= 1
        field = tokens[index]
        kind = _kind(field)
        # Only a field name may precede webauthn (not on/off, not a second webauthn), and what
        # precedes the field name must still fit that field's own maximum.
        if kind not in (NORMAL, CONTACT) or index > _MAX_TOKENS[kind] - 1:
            return None

    section = mode = contact = None
    if index == 0:
        return Autofill(field=field, webauthn=webauthn)
    index -= 1

    if kind == CONTACT and tokens[index] in CONTACT_TOKENS:
        contact = tokens[index]
        if index == 0:
            return Autofill(contact=contact, field=field, webauthn=webauthn)
        index -= 1

    if tokens[index] in MODE_TOKENS:
        mode = tokens[index]
        if index == 0:
            return Autofill(mode=mode, contact=contact, field=field, webauthn=webauthn)
        index -= 1

    # Whatever is left must be exactly one section-* token, and it must come first.
    if index != 0 or not tokens[index].startswith(SECTION_PREFIX):
        return None
    section = tokens[index]
    return Autofill(section=section, mode=mode, contact=contact, field=field, webauthn=webauthn)


def sensitive_category(value: str) -> str | None:
    """The sensitive category named anywhere in an autocomplete value, or None.

    Deliberately looser than parse(): a value counts as sensitive when ANY of its tokens is
    (ASCII case-insensitively) a sensitive field name, whether or not the spec accepts the whole
    value. "cc-number foo", "foo cc-number", "mobile cc-number" and "cc-number billing" are all
    invalid (parse() returns None, and a browser would not autofill them), yet the field is
    plainly meant for a card number and a customer will type one. Privacy masks more rather than
    less. This is also exactly what the `~=` selectors of sensitive_selectors() match, so the
    widget and the guard can apply it with CSS alone.

    When several sensitive names appear, the last one wins (the spec puts the field name last).
    """
    for token in reversed(_tokens(value)):
        if token in SENSITIVE_FIELDS:
            return SENSITIVE_FIELDS[token]
    return None


def sensitive_selectors() -> list[str]:
    """CSS selectors matching exactly the elements whose autocomplete sensitive_category() flags.

    One per sensitive field name: `[autocomplete~="cc-number" i]`. `~=` matches one word of a
    whitespace-separated list (CSS whitespace is the same five ASCII characters the spec splits
    on) and the `i` flag compares ASCII case-insensitively, as the spec does. Chromium and
    soupsieve both support them. They name no element type: the attribute applies to input,
    select and textarea, and masking anything else that carries a card field name fails closed.
    """
    return [f'[autocomplete~="{name}" i]' for name in SENSITIVE_FIELDS]
