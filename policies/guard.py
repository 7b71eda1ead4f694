"""The server's privacy guard: the second line of defence.

The widget masks in the customer's browser before anything is sent. The guard re-applies the same
compiled policy to what arrives, on rrweb's serialized nodes, scrubs anything that should have been
masked and reports it (where and which rule, never the value). soupsieve compiles every rule and
says what it means; the guard matches the rules it can read itself, in one pass over the nodes
(linear in nodes and attribute bytes, however deep or wide the page), and asks soupsieve about the
rest, on a beautifulsoup copy of the nodes, as before.

It keeps a light map of element nodes (tag, attributes, parent) so that selectors with ancestors
(`.billing input`) match nodes added later too, and what each element's ancestors tell about it
(masks, labels, the selectors left of a combinator), so that an added subtree, a keystroke or a
click costs no walk up the page. Input events, the per-keystroke hot path, cost a lookup or two.
"""

import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import soupsieve
from bs4 import BeautifulSoup, Tag
from bs4.builder import HTMLTreeBuilder
from soupsieve import css_types

# rrweb's serialized node and event types
DOCUMENT, DOCTYPE, ELEMENT, TEXT = 0, 1, 2, 3
FULL_SNAPSHOT, INCREMENTAL = 2, 3
MUTATION, MOUSE_INTERACTION, INPUT = 0, 2, 5

MASK_ATTR = "data-cobrowse-mask"
RESTRICT_ATTR = "data-cobrowse-restrict"
# Attributes that can carry what a masked field holds or describes.
SENSITIVE_ATTRS = (
    "value",
    "placeholder",
    "title",
    "alt",
    "aria-label",
    "aria-valuetext",
    "aria-placeholder",
    "aria-description",
    "aria-roledescription",
    "data-value",
)
STATE_ATTRS = ("checked", "selected")
BLOCK_KEEP_ATTRS = ("id", "class", "rr_width", "rr_height", MASK_ATTR, RESTRICT_ATTR)
# On a masked element (and everything inside it) only these attributes pass as they are (fail
# closed): layout and form structure, never content. SENSITIVE_ATTRS pass as ****; every other
# attribute (data-*, href, src, srcset, rrweb's rr_dataURL, ...) is dropped.
SAFE_ATTRS = frozenset(
    (
        "id", "class", "style", "type", "name", "role", "dir", "lang", "hidden", "disabled",
        "readonly", "required", "multiple", "size", "cols", "rows", "width", "height", "for",
        "tabindex", "autocomplete", "inputmode", "contenteditable", "spellcheck", "colspan",
        "rowspan", "rr_width", "rr_height", "rr_scrollleft", "rr_scrolltop", MASK_ATTR,
        RESTRICT_ATTR,
    )
)  # fmt: skip
MASK_KINDS = ("input", "text", "block")
RESTRICT_KINDS = ("control", "field")
LABELABLE = ("input", "select", "textarea", "button", "meter", "output", "progress")
_CSS_WORDS = re.compile("[^ \t\r\n\f]+")  # soupsieve's split of a class attribute kept as text


@lru_cache(maxsize=512)
def compile_selector(selector: str):
    """Compiled once per process: every snapshot builds a new guard with the same rules."""
    return soupsieve.compile(selector)


@lru_cache(maxsize=512)
def subject_keys(selector: str) -> tuple | None:
    """What an element must have to match each selector in the list, or None if unknown.

    One (tag, ids, classes, attribute names) per comma-separated selector, read from soupsieve's
    compiled form: necessary conditions only (pseudo-classes, ancestors and attribute values are
    left to soupsieve), so they can rule elements out but never in. Lower-cased: HTML compares tag
    and attribute names without case, and a looser check only costs a soupsieve call.
    """
    try:
        keys = []
        for sel in compile_selector(selector).selectors:
            tag = sel.tag.name.lower() if sel.tag is not None and sel.tag.name != "*" else None
            keys.append(
                (
                    tag,
                    frozenset(i.lower() for i in sel.ids),
                    frozenset(c.lower() for c in sel.classes),
                    # `[a!=b]` (inverse) also matches elements without the attribute.
                    frozenset(a.attribute.lower() for a in sel.attributes if not a.inverse),
                )
            )
        return tuple(keys)
    except Exception:  # another soupsieve's internals: no shortcut, soupsieve checks every element
        return None


class ElementIndex:
    """Elements of one soup by tag, id, class and attribute name, to find candidates quickly."""

    def __init__(self, tags: dict[int, Tag]) -> None:
        self.all = tags
        self.by_tag: dict[str, list[int]] = {}
        self.by_id: dict[str, list[int]] = {}
        self.by_class: dict[str, list[int]] = {}
        self.by_attr: dict[str, list[int]] = {}
        self.features: dict[int, tuple[str, set, set, set]] = {}
        for node_id, tag in tags.items():
            name = tag.name.lower()
            # soupsieve reads the first attribute of each name whatever its case (`Class`, `ID`).
            values: dict[str, Any] = {}
            for key, value in tag.attrs.items():
                values.setdefault(key.lower(), value)
            attrs = set(values)
            ident = values.get("id")
            ids = {ident.lower()} if isinstance(ident, str) else set()
            cls = values.get("class")
            words = _CSS_WORDS.findall(cls) if isinstance(cls, str) else cls or []
            classes = {c.lower() for c in words if isinstance(c, str)}
            self.features[node_id] = (name, ids, classes, attrs)
            self.by_tag.setdefault(name, []).append(node_id)
            for value in ids:
                self.by_id.setdefault(value, []).append(node_id)
            for value in classes:
                self.by_class.setdefault(value, []).append(node_id)
            for value in attrs:
                self.by_attr.setdefault(value, []).append(node_id)

    def candidates(self, keys: tuple | None) -> list[int]:
        if keys is None:
            return list(self.all)
        found: set[int] = set()
        for tag, ids, classes, attrs in keys:
            if ids:
                pool = self.by_id.get(next(iter(ids)), [])
            elif classes:
                pool = self.by_class.get(next(iter(classes)), [])
            elif tag:
                pool = self.by_tag.get(tag, [])
            elif attrs:
                pool = self.by_attr.get(next(iter(attrs)), [])
            else:
                return list(self.all)  # `*`, `:not(...)`: every element is a candidate
            for node_id in pool:
                name, own_ids, own_classes, own_attrs = self.features[node_id]
                if (
                    (tag is None or tag == name)
                    and ids <= own_ids
                    and classes <= own_classes
                    and attrs <= own_attrs
                ):
                    found.add(node_id)
        return sorted(found)


MASK = "****"
# Attributes pseudo-classes read (`:checked` is also an option's `selected`, which the widget
# sends as the option's selectedness).
PSEUDO_STATE_ATTRS = (
    "checked", "selected", "disabled", "required", "readonly", "placeholder", "open", "href",
)  # fmt: skip


def referenced_attributes(selectors: list[str]) -> frozenset[str]:
    """Attribute names whose change can change what these selectors match (a superset)."""
    text = " ".join(selectors)
    names = {m.lower() for m in re.findall(r"\[\s*([A-Za-z_][-\w:.]*)", text)}
    names |= {"type", MASK_ATTR, RESTRICT_ATTR}
    if "." in text:
        names.add("class")
    if "#" in text:
        names.add("id")
    if ":" in text:
        names.update(PSEUDO_STATE_ATTRS)
    return frozenset(names)


def node_id_of(value) -> int | None:
    """rrweb node ids are integers. An integral float (`11.0`) names the same node to the agent's
    JavaScript, so it reads as that integer; anything else is no id, never used as a key."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return None


def _list_field(data: dict, key: str) -> list:
    """A mutation's list field, or an empty list when the page sent something else."""
    value = data.get(key)
    return value if isinstance(value, list) else []


def stars(text: str, reveal_length: bool = False) -> str:
    """The mask for a value: `****` whatever its length, or one `*` per character when the site
    allows masks to reveal the length."""
    if reveal_length:
        return "".join(ch if ch.isspace() else "*" for ch in text)
    return MASK if text.strip() else text


def is_starred(text: str) -> bool:
    return all(ch == "*" or ch.isspace() for ch in text)


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


# -- the matcher ---------------------------------------------------------------------------------
#
# soupsieve says what a selector means: the guard reads its compiled form (tag, ids, classes,
# attribute patterns, :is() and :not() lists, combinators) and matches rrweb's nodes with it
# directly, in one pass over the nodes in document order, on the same tree the guard gave soupsieve
# (an added subtree under its chain of ancestors). What a combinator needs to know about other
# elements travels down the pass as bits, one per selector left of a combinator (a "slot"): whether
# the parent, an ancestor, the previous sibling or any previous sibling matches it. No element walks
# up or back, so `form button:not([type])` costs the same on 1,000 nested buttons as on 1,000 side
# by side. A selector with anything else (:nth-*(), :checked, :has(), :root, :empty, :lang(), :dir(),
# namespaces, ...) is left to soupsieve, on its own, as before.

# beautifulsoup splits these attributes into words, soupsieve joins them with one space again.
_CDATA = HTMLTreeBuilder.DEFAULT_CDATA_LIST_ATTRIBUTES
_CDATA_KEYS = frozenset(name for names in _CDATA.values() for name in names)
_CDATA_EVERYWHERE = frozenset(_CDATA.get("*", ()))
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_COMBINATORS = {" ": 0, ">": 1, "+": 2, "~": 3}  # where each one's bits are in a context
_NO_CONTEXT = (0, 0, 0, 0)  # (ancestors, parent, previous sibling, previous siblings)
_MAX_NESTING = 24  # deeper :is()/:not() nesting or combinator chains are left to soupsieve
_NO_NAMES: frozenset[str] = frozenset()
_NO_CLASSES: frozenset[str] = frozenset()
_NAMES: dict[str, str] = {}  # attribute name -> its ASCII lower case, shared by every guard
_TOP = object()  # the parent of the nodes whose parent is outside the matched nodes


def _ascii_lower(text: str) -> str:
    """HTML compares names ASCII-case-insensitively (soupsieve's util.lower)."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


# soupsieve's pattern for `[a~=word]` cannot be scanned for its word first, so on a long value the
# regex engine tries every position, for each such rule. It matches exactly when the word is one of
# the value's words split on CSS whitespace (the word has none): the value is split once for all.
_CSS_SPACE = re.compile("[ \t\r\n\f]")
_WORD_BEFORE = r"(?:(?<=^)|(?<=[ \t\r\n\f]))"
_WORD_AFTER = r"(?=(?:[ \t\r\n\f]|\Z))"


def _required_text(pattern) -> str | None:
    """The word a `~=` pattern looks for, or None (another pattern, or unsure)."""
    source = getattr(pattern, "pattern", None)
    if not isinstance(source, str) or pattern.flags & re.IGNORECASE:
        return None
    if not (source.startswith(_WORD_BEFORE) and source.endswith(_WORD_AFTER)):
        return None
    escaped = source[len(_WORD_BEFORE) : len(source) - len(_WORD_AFTER)]
    word = re.sub(r"\\(.)", r"\1", escaped, flags=re.DOTALL)
    return word if word and re.escape(word) == escaped else None


class _Unsupported(Exception):
    """A selector the matcher does not read: soupsieve matches it."""


class _Sel:
    """One compound selector: what soupsieve's Selector checks on the element itself, its :is() and
    :not() lists, and the slot of the selector left of its combinator."""

    __slots__ = ("attrs", "classes", "free", "ids", "names", "rel", "subs", "tag")

    def __init__(self, tag, ids, classes, attrs, subs, rel) -> None:
        self.tag: str | None = tag
        self.ids: tuple[str, ...] = ids
        self.classes: tuple[str, ...] = classes
        # (lower-case name, pattern or None, inverse, ignore case, the word of a `~=` pattern)
        self.attrs: tuple = attrs
        self.subs: tuple[_List, ...] = subs
        self.rel: tuple[int, int] | None = rel  # (index in the context, slot bit)
        # Attribute names an element must have (`[a!=b]` also matches elements without `a`).
        self.names = frozenset(name for name, _p, inverse, _i, _r in attrs if not inverse)
        # Whether the element alone decides (no combinator here or in its lists).
        self.free = rel is None and all(sel is None or sel.free for sub in subs for sel in sub.sels)

    def test(self, tag: str, amap: dict, ident: str, classes: frozenset, context: tuple) -> bool:
        if self.tag is not None and self.tag != tag:
            return False
        for value in self.ids:
            if value != ident:
                return False
        for value in self.classes:
            if value not in classes:
                return False
        rel = self.rel
        if rel is not None and not context[rel[0]] & rel[1]:
            return False
        for name, pattern, inverse, ignore_case, required in self.attrs:
            item = amap.get(name)
            if item is None:
                if inverse:
                    continue
                return False
            if pattern is None:
                continue
            if type(item) is str:
                text = item
                if name in _CDATA_KEYS and (
                    name in _CDATA_EVERYWHERE or name in _CDATA.get(tag, ())
                ):
                    text = " ".join(text.split())  # split as beautifulsoup splits it
            else:
                text = item[0]  # spelled otherwise: beautifulsoup did not split it
            if required is not None:
                key = (name, ignore_case)  # the value's words, kept with the element's attributes
                words = amap.get(key)
                if words is None:
                    words = amap[key] = frozenset(
                        _CSS_SPACE.split(_ascii_lower(text) if ignore_case else text)
                    )
                if required not in words:
                    return False
                continue
            if ignore_case:
                text = _ascii_lower(text)
            if pattern.search(text) is None:
                return False
        for sub in self.subs:
            if not sub.test(tag, amap, ident, classes, context):
                return False
        return True


class _List:
    """A selector list, as :is() (any matches) or :not() (none matches); None never matches."""

    __slots__ = ("is_not", "sels")

    def __init__(self, sels: tuple, is_not: bool) -> None:
        self.sels: tuple[_Sel | None, ...] = sels
        self.is_not = is_not

    def test(self, tag: str, amap: dict, ident: str, classes: frozenset, context: tuple) -> bool:
        if not self.sels:
            return False
        for sel in self.sels:
            if sel is not None and sel.test(tag, amap, ident, classes, context):
                return not self.is_not
        return self.is_not


class _Dispatch:
    """Compound selectors (each with the bit it sets) by what an element must have to match: an id,
    a class, or else a tag and attribute names; the candidates of each (tag, names) are kept."""

    __slots__ = ("by_class", "by_id", "rest", "shapes")

    def __init__(self, targets: list[tuple[_Sel, int]]) -> None:
        self.by_id: dict[str, list[tuple[_Sel, int]]] = {}
        self.by_class: dict[str, list[tuple[_Sel, int]]] = {}
        self.rest: list[tuple[_Sel, int]] = []
        for sel, bit in targets:
            if sel.ids:
                self.by_id.setdefault(sel.ids[0], []).append((sel, bit))
            elif sel.classes:
                self.by_class.setdefault(sel.classes[0], []).append((sel, bit))
            else:
                self.rest.append((sel, bit))
        self.shapes: dict[tuple, tuple[tuple[_Sel, int], ...]] = {}

    def candidates(self, tag: str, names: frozenset) -> tuple[tuple[_Sel, int], ...]:
        key = (tag, names)
        found = self.shapes.get(key)
        if found is None:
            found = tuple(
                (sel, bit)
                for sel, bit in self.rest
                if (sel.tag is None or sel.tag == tag) and sel.names <= names
            )
            if len(names) <= 32:  # a page's elements come in few shapes; odd ones are not kept
                if len(self.shapes) >= 4096:
                    self.shapes.clear()
                self.shapes[key] = found
        return found

    def split(self, tag, amap, names, ident, classes) -> tuple[int, tuple[tuple[_Sel, int], ...]]:
        """The bits an element's own attributes decide, and the candidates that need a context."""
        found = 0
        dependent = []
        listed: list[Sequence[tuple[_Sel, int]]] = [self.candidates(tag, names)]
        if ident and self.by_id:
            listed.append(self.by_id.get(ident, ()))
        by_class = self.by_class
        if classes and by_class:
            if len(classes) <= len(by_class):
                listed += [by_class[name] for name in classes if name in by_class]
            else:
                listed += [targets for name, targets in by_class.items() if name in classes]
        for targets in listed:
            for sel, bit in targets:
                if not sel.free:
                    dependent.append((sel, bit))
                elif not found & bit and sel.test(tag, amap, ident, classes, _NO_CONTEXT):
                    found |= bit
        return found, tuple(dependent)

    def bits(self, tag, amap, names, ident, classes, context) -> int:
        found = 0
        for sel, bit in self.candidates(tag, names):
            if not found & bit and sel.test(tag, amap, ident, classes, context):
                found |= bit
        if ident and self.by_id:
            for sel, bit in self.by_id.get(ident, ()):
                if not found & bit and sel.test(tag, amap, ident, classes, context):
                    found |= bit
        by_class = self.by_class
        if classes and by_class:
            # Whichever is shorter: the element's classes or the classes rules name.
            if len(classes) <= len(by_class):
                listed = [by_class[name] for name in classes if name in by_class]
            else:
                listed = [targets for name, targets in by_class.items() if name in classes]
            for targets in listed:
                for sel, bit in targets:
                    if not found & bit and sel.test(tag, amap, ident, classes, context):
                        found |= bit
        return found


class _Plan:
    """A policy's rules compiled for the matcher: one bit per rule entry, one per slot, and the
    selectors left to soupsieve (entry index, selector list)."""

    def __init__(self, entries: tuple[tuple[str, str, str, tuple[str, ...]], ...]) -> None:
        self.entries = [(family, kind, selector) for family, kind, selector, _m in entries]
        self.slots: dict[tuple, int] = {}
        # Entry i has bit i; slots take the bits above, so one pass of one index finds both.
        self.entry_bits = (1 << len(entries)) - 1
        self.next_bit = 1 << len(entries)
        self.desc = 0  # slots of descendant combinators: carried to every descendant
        self.sib = 0  # slots of `~`: carried to every later sibling
        self.rel_targets: list[tuple[_Sel, int]] = []
        self.names: set[str] = set()  # attribute names any fast selector reads
        self.uses_classes = False
        self.uses_ids = False
        self.slow: list[tuple[int, str]] = []
        targets: list[tuple[_Sel, int]] = []
        for index, (_family, _kind, _selector, members) in enumerate(entries):
            left = []
            for member in members:
                sels = self.compile_member(member)
                if sels is None:
                    left.append(member)
                else:
                    targets.extend((sel, 1 << index) for sel in sels)
            if left:
                self.slow.append((index, ", ".join(left)))
        self.entry = _Dispatch(targets + self.rel_targets)  # entries and slots
        self.rel = _Dispatch(self.rel_targets) if self.rel_targets else None  # slots alone
        self.empty = not targets and not self.rel_targets and not self.slow
        # Elements alike in tag and attributes (every row of a table) are read once:
        # (tag, names, values) -> what PrivacyGuard._element() finds (not with `[data-rrid]`).
        self.alike: dict[tuple, tuple] = {}
        self.uses_rrid = "data-rrid" in self.names
        # A change to one of these attributes can change what a slot knows about an element.
        self.read_names = frozenset(
            self.names
            | ({"class"} if self.uses_classes else set())
            | ({"id"} if self.uses_ids else set())
        )

    def compile_member(self, selector: str) -> list[_Sel] | None:
        """The compound selectors of one rule, or None if soupsieve must match it."""
        saved = (dict(self.slots), self.next_bit, self.desc, self.sib, len(self.rel_targets))
        names, uses = set(self.names), (self.uses_classes, self.uses_ids)
        try:
            top = compile_selector(selector).selectors
            found = []
            for sel in top:
                if sel is css_types.SelectorNull.null:
                    continue  # what a page cannot show here (:hover, :focus): never matches
                compiled = self.selector(sel, bool(top.is_html), 0)
                if compiled is not None:
                    found.append(compiled)
            return found
        except (_Unsupported, RecursionError, AttributeError, TypeError, IndexError):
            # Unsupported, or another soupsieve's compiled form: soupsieve matches this one.
            self.slots, self.next_bit, self.desc, self.sib = saved[:4]
            del self.rel_targets[saved[4] :]
            self.names, (self.uses_classes, self.uses_ids) = names, uses
            return None

    def selector(self, sel, html: bool, depth: int) -> _Sel | None:
        """One soupsieve Selector (None: it can never match). `html`: inside a list soupsieve
        matches with the `html` namespace (the lists its pseudo-classes expand to)."""
        if depth > _MAX_NESTING or not isinstance(sel, css_types.Selector):
            raise _Unsupported
        if sel.flags or sel.nth or sel.contains or sel.lang:
            raise _Unsupported
        tag = None
        if sel.tag is not None:
            # Every element of the guard's soup is an HTML element without a namespace prefix.
            prefix = sel.tag.prefix
            if not (prefix is None or prefix == "*" or (prefix == "html" and html)):
                return None
            if sel.tag.name != "*":
                tag = _ascii_lower(sel.tag.name)
        attrs = []
        for attribute in sel.attributes:
            # Without namespaces soupsieve compares the name alone, whatever its prefix; in an HTML
            # document the `type` value compares without case too (its pattern says so).
            name = _ascii_lower(attribute.attribute)
            self.names.add(name)
            pattern = attribute.pattern
            inverse, ignore_case = bool(attribute.inverse), bool(attribute.ignore_case)
            attrs.append((name, pattern, inverse, ignore_case, _required_text(pattern)))
        self.uses_classes = self.uses_classes or bool(sel.classes)
        self.uses_ids = self.uses_ids or bool(sel.ids)
        subs = tuple(self.selector_list(s, html or s.is_html, depth + 1) for s in sel.selectors)
        rel = None
        if sel.relation:
            first = sel.relation[0]
            if not isinstance(first, css_types.Selector) or first.rel_type not in _COMBINATORS:
                raise _Unsupported  # :has() looks down or forward
            bit = self.slot(sel.relation, first.rel_type, html or sel.relation.is_html, depth + 1)
            rel = (_COMBINATORS[first.rel_type], bit)
        return _Sel(tag, tuple(sel.ids), tuple(sel.classes), tuple(attrs), subs, rel)

    def selector_list(self, selectors, html: bool, depth: int) -> _List:
        sels = tuple(
            None if s is css_types.SelectorNull.null else self.selector(s, html, depth)
            for s in selectors.selectors
        )
        return _List(sels, bool(selectors.is_not))

    def slot(self, relation, combinator: str, html: bool, depth: int) -> int:
        """The bit of the selector left of a combinator, matched on every element."""
        key = (relation, combinator, html)
        bit = self.slots.get(key)
        if bit is not None:
            return bit
        if relation.is_not:
            raise _Unsupported
        bit = self.next_bit
        self.next_bit <<= 1
        self.slots[key] = bit
        if combinator == " ":
            self.desc |= bit
        elif combinator == "~":
            self.sib |= bit
        for member in relation.selectors:
            if member is css_types.SelectorNull.null:
                continue
            compiled = self.selector(member, html, depth)
            if compiled is not None:
                self.rel_targets.append((compiled, bit))
        return bit


@lru_cache(maxsize=64)
def _plan(entries: tuple[tuple[str, str, str, tuple[str, ...]], ...]) -> _Plan:
    """Compiled once per policy and process: every snapshot builds a new guard with the same rules."""
    return _Plan(entries)


@dataclass
class Alert:
    node_id: int
    kind: str
    selector: str = ""


@dataclass(slots=True)
class Node:
    tag: str
    attrs: dict
    parent: int | None


@dataclass
class PrivacyGuard:
    policy: dict
    # The page the events come from: relative links are resolved against it.
    page_url: str = ""
    elements: dict[int, Node] = field(default_factory=dict)
    # element id -> its element children's ids, in order (a dict: removing one costs no scan)
    children: dict[int, dict[int, None]] = field(default_factory=dict)
    text_parent: dict[int, int] = field(default_factory=dict)
    documents: set[int] = field(default_factory=set)  # the page's and its frames' documents
    masked: dict[int, str] = field(default_factory=dict)  # node id -> input | text | block
    restricted: dict[int, str] = field(default_factory=dict)  # node id -> control | field
    hits: Counter = field(default_factory=Counter)  # selector -> elements matched (policy lint)
    # ("name" | "id", value) of fields that were passwords on this page, whatever replaced them.
    password_fields: set = field(default_factory=set)

    # Preview and lint count matches per selector; live sessions run one selector list per
    # (family, kind), which is several times faster on large pages.
    per_selector: bool = False

    # What the last check_events call cost, for a session's budget: nodes it registered, matched,
    # walked or scrubbed (an ancestor visited to place an added subtree counts too), and the
    # attribute names and values it read while matching, in characters.
    last_cost: int = field(default=0, init=False)
    last_attr_bytes: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        def valid(selectors: list[str]) -> list[str]:
            result = []
            for selector in selectors:
                try:
                    compile_selector(selector)
                    result.append(selector)
                except Exception:
                    continue  # validated on save; a bad legacy rule must not stop the guard
            return result

        mask, restrict = self.policy["mask"], self.policy["restrict"]
        frames = self.policy.get("frames") or {}

        def in_frames(family: str, kind: str) -> list[str]:
            # Rules for other paths apply inside frames (their documents hang under <iframe>).
            listed = (frames.get(family) or {}).get(kind) or []
            return [f"iframe :is({s})" for s in listed if isinstance(s, str)]

        self.reveal_length = bool(self.policy.get("mask_reveals_length", False))
        self.submit_restricted = bool(self.policy.get("submit_restricted", True))
        self.origins = {o for o in (self.policy.get("origins") or []) if isinstance(o, str)}
        page_origin = _origin(self.page_url) if self.page_url else None
        if page_origin and not self.origins:
            self.origins.add(page_origin)
        groups = [
            ("mask", "input", valid(mask["input"] + in_frames("mask", "input"))),
            ("mask", "text", valid(mask["text"] + in_frames("mask", "text"))),
            ("mask", "block", valid(mask["block"] + in_frames("mask", "block"))),
            ("restrict", "field", valid(restrict["field"] + in_frames("restrict", "field"))),
            ("restrict", "control", valid(restrict["control"] + in_frames("restrict", "control"))),
        ]
        self.rules = []
        entries = []  # (family, kind, selector, the rules it joins) for the matcher
        for family, kind, selectors in groups:
            if not selectors:
                continue
            if self.per_selector:
                compiled = [(s, compile_selector(s)) for s in selectors]
                entries += [(family, kind, s, (s,)) for s in selectors]
            else:
                # One list per shape of subject (`[autocomplete~=…]`, `input[type=…]`, ...), as
                # soupsieve is asked about them; the matcher reads each rule of a list on its own.
                shapes: dict = {}
                for selector in selectors:
                    shapes.setdefault(repr(subject_keys(selector)), []).append(selector)
                compiled = []
                for group in shapes.values():
                    joined = ", ".join(group)
                    compiled.append((joined, compile_selector(joined)))
                    entries.append((family, kind, joined, tuple(group)))
            self.rules.append((family, kind, compiled))
        self.rule_attrs = referenced_attributes(
            [s for _f, _k, selectors in groups for s in selectors]
        )
        self._plan = _plan(tuple(entries))
        # Derived from the fields above, kept by the guard's own changes (_sync() rebuilds them
        # when the fields were filled from outside, as guard_pool does).
        self._count = 0  # len(self.elements) as the guard last left it
        self._seq = 0
        self._pos: dict[int, int] = {}  # element id -> when it was registered (document order)
        self._ids: dict[str, dict[int, None]] = {}  # id attribute -> elements with it
        self._orphans: dict[int, list[int]] = {}  # absent parent id -> elements that name it
        # What an added subtree, a keystroke or a click needs to know about the elements above
        # it, computed once per element until the tree changes. element id -> (the mask covering
        # it, the nearest label at or above it, the absent id its chain of ancestors ends at):
        self._chain: dict[int, tuple[str | None, int | None, int | None]] = {}
        # element id -> (slots its ancestors match, slots it matches), on its chain alone:
        self._slots: dict[int, tuple[int, int]] = {}
        self._cost = 0
        self._bytes = 0

    def stars(self, text: str) -> str:
        return stars(text, self.reveal_length)

    # -- events ---------------------------------------------------------------------------------

    def check_events(self, events: list) -> tuple[bool, list[Alert]]:
        """Scrub a batch in place. Returns (changed, alerts); `changed` includes added marks.

        Events the guard cannot judge are dropped from the list: changes before a full snapshot
        in the same batch (they belong to the page the snapshot replaces), events naming a node
        by anything but an integer, and events that would tell which masked option was chosen.
        """
        self._sync()
        self._cost = len(events)
        self._bytes = 0
        try:
            return self._check_events(events)
        finally:
            self.last_cost = self._cost
            self.last_attr_bytes = self._bytes

    def _check_events(self, events: list) -> tuple[bool, list[Alert]]:
        changed, alerts = False, []
        first_full = next(
            (
                i
                for i, e in enumerate(events)
                if isinstance(e, dict) and e.get("type") == FULL_SNAPSHOT
            ),
            -1,
        )
        kept = []
        for position, event in enumerate(events):
            if not isinstance(event, dict):
                kept.append(event)
                continue
            kind = event.get("type")
            data = event.get("data")
            if not isinstance(data, dict):
                kept.append(event)
                continue
            keep = True
            if kind == FULL_SNAPSHOT:
                self.reset()
                node = data.get("node")
                if isinstance(node, dict):
                    keep, c, a = self.scan_tree(node, parent=None)
                    changed |= c
                    alerts += a
            elif kind == INCREMENTAL:
                if position < first_full:
                    keep = False
                else:
                    source = data.get("source")
                    if source == INPUT:
                        keep, c, a = self.check_input(data)
                    elif source == MUTATION:
                        c, a = self.check_mutation(data)
                    elif source == MOUSE_INTERACTION:
                        keep, c, a = self.check_interaction(data)
                    else:
                        c, a = False, []
                    changed |= c
                    alerts += a
            if keep:
                kept.append(event)
            else:
                changed = True
        if len(kept) != len(events):
            events[:] = kept
        return changed, alerts

    def reset(self) -> None:
        self.elements.clear()
        self.children.clear()
        self.text_parent.clear()
        self.documents.clear()
        self.masked.clear()
        self.restricted.clear()
        self._count = 0
        self._pos.clear()
        self._ids.clear()
        self._orphans.clear()
        self._forget_chains()

    def _sync(self) -> None:
        """Rebuild what the guard derives from its fields if they were changed from outside."""
        if self._count == len(self.elements):
            return
        self._forget_chains()
        self._pos = {node_id: i for i, node_id in enumerate(self.elements)}
        self._seq = len(self._pos)
        self._ids = {}
        self._orphans = {}
        for node_id, node in self.elements.items():
            ident = node.attrs.get("id")
            if isinstance(ident, str):
                self._ids.setdefault(ident, {})[node_id] = None
            if node.parent is not None and node.parent not in self.elements:
                self._orphans.setdefault(node.parent, []).append(node_id)
        self._count = len(self.elements)

    def _chain_state(self, node_id: int) -> tuple[str | None, int | None, int | None]:
        """What the elements at and above a registered element tell about it: the mask covering
        it, the nearest label at or above it, and the absent id its chain ends at (see _chain)."""
        memo = self._chain
        found = memo.get(node_id)
        if found is not None:
            return found
        elements = self.elements
        path: list[int] = []
        current: int | None = node_id
        while current in elements and current not in memo and len(path) <= len(elements):
            path.append(current)
            current = elements[current].parent
        base = memo[current] if current in memo else (None, None, current)
        self._cost += len(path)
        masked, restricted = self.masked, self.restricted
        for current in reversed(path):
            cover, label, tail = base
            if current in masked:
                cover = masked[current]
            elif restricted.get(current) == "field":
                cover = "input"
            base = (cover, current if elements[current].tag == "label" else label, tail)
            memo[current] = base
        return memo[node_id]

    def _slot_state(self, node_id: int) -> tuple[int, int]:
        """The slots a registered element's ancestors match and the slots it matches, on its chain
        of ancestors alone (what its added children's combinators need; see _slots)."""
        memo = self._slots
        found = memo.get(node_id)
        if found is not None:
            return found
        plan = self._plan
        if plan.rel is None:
            return (0, 0)
        elements = self.elements
        path: list[int] = []
        current: int | None = node_id
        while current in elements and current not in memo and len(path) <= len(elements):
            path.append(current)
            current = elements[current].parent
        up, par = memo[current] if current in memo else (0, 0)
        self._cost += len(path)
        for current in reversed(path):
            tag, amap, names, ident, classes = self._features(current, elements[current])
            # In the tree soupsieve was given, each ancestor is its parent's only child.
            par = plan.rel.bits(tag, amap, names, ident, classes, (up, par, 0, 0))
            if tag == "template":  # soupsieve does not look above a template's contents
                up, par = 0, 0
            else:
                up |= par & plan.desc
            memo[current] = (up, par)
        return memo[node_id]

    def _forget_chains(self, node_ids=None) -> None:
        """What the chains of ancestors told: of every element, or of these."""
        if node_ids is None:
            self._chain.clear()
            self._slots.clear()
        else:
            for node_id in node_ids:
                self._chain.pop(node_id, None)
                self._slots.pop(node_id, None)

    def mask_of(self, node_id: int | None) -> str | None:
        """The mask covering a node: its own or an ancestor's. A node the guard does not know is
        masked (fail closed): every node of a page arrives in a snapshot or a mutation first."""
        if node_id is None or node_id not in self.elements:
            return "input"
        return self._chain_state(node_id)[0]

    def remember_password(self, node: Node) -> None:
        """Names and ids of fields that were passwords: a page may replace the field to show it."""
        kind = node.attrs.get("type")
        if node.tag == "input" and isinstance(kind, str) and kind.lower() == "password":
            for attr in ("name", "id"):
                value = node.attrs.get(attr)
                if isinstance(value, str) and value:
                    self.password_fields.add((attr, value))

    def was_password(self, node: Node) -> bool:
        if node.tag != "input" or not self.password_fields:
            return False
        return any((attr, node.attrs.get(attr)) in self.password_fields for attr in ("name", "id"))

    def is_choice(self, node_id: int) -> bool:
        node = self.elements.get(node_id)
        if node is None or node.tag != "input":
            return False
        kind = node.attrs.get("type")
        return isinstance(kind, str) and kind.lower() in ("radio", "checkbox")

    def check_input(self, data: dict) -> tuple[bool, bool, list[Alert]]:
        """(keep, changed, alerts) for one input event: the per-keystroke hot path."""
        node_id = node_id_of(data.get("id"))
        if node_id is None:
            return False, True, []
        data["id"] = node_id
        mask = self.mask_of(node_id)
        if not mask:
            return True, False, []
        if self.is_choice(node_id):
            # Which radio or checkbox of a masked group changed tells the agent the choice.
            return False, True, [Alert(node_id, "masked_choice_event")]
        changed = False
        text = data.get("text")
        if isinstance(text, str) and not is_starred(text):
            data["text"] = self.stars(text)
            changed = True
        elif text is not None and not isinstance(text, str):
            data["text"] = ""
            changed = True
        if data.get("isChecked"):
            data["isChecked"] = False
            changed = True
        return True, changed, [Alert(node_id, "unmasked_input")] if changed else []

    def check_interaction(self, data: dict) -> tuple[bool, bool, list[Alert]]:
        """Clicks, focus and blur on a masked node would identify it (the chosen radio)."""
        node_id = node_id_of(data.get("id"))
        if node_id is None:
            return False, True, []
        data["id"] = node_id
        if self.mask_of(node_id) or self.labels_masked(node_id):
            return False, True, []
        return True, False, []

    def labels_masked(self, node_id: int) -> bool:
        """A click on a label of a masked control chooses it as surely as one on the input."""
        if node_id not in self.elements:
            return False
        label = self._chain_state(node_id)[1]  # the nearest label at or above the node
        if label is None:
            return False
        return any(self.mask_of(c) for c in self.label_controls(label))

    def check_mutation(self, data: dict) -> tuple[bool, list[Alert]]:
        changed, alerts = False, []
        removes = _list_field(data, "removes")
        for removed in removes:
            if isinstance(removed, dict):
                removed_id = node_id_of(removed.get("id"))
                if removed_id is not None:
                    removed["id"] = removed_id
                    self.forget(removed_id)
        adds = _list_field(data, "adds")
        kept_adds = []
        for add in adds:
            if not isinstance(add, dict) or not isinstance(add.get("node"), dict):
                kept_adds.append(add)
                continue
            parent = node_id_of(add.get("parentId"))
            if parent is None:
                changed = True
                continue
            add["parentId"] = parent
            keep, c, a = self.scan_tree(add["node"], parent=parent)
            changed |= c
            alerts += a
            if keep:
                kept_adds.append(add)
            else:
                changed = True
        if adds and len(kept_adds) != len(adds):
            data["adds"] = kept_adds
        texts = _list_field(data, "texts")
        kept_texts = []
        for text in texts:
            if not isinstance(text, dict):
                continue
            text_id = node_id_of(text.get("id"))
            if text_id is None:
                changed = True
                continue
            text["id"] = text_id
            kept_texts.append(text)
            parent = self.text_parent.get(text_id)
            value = text.get("value")
            # A text node the guard has not seen is masked: it cannot tell whose text it is.
            if (parent is None or self.mask_of(parent)) and isinstance(value, str):
                if not is_starred(value):
                    text["value"] = self.stars(value)
                    changed = True
                    alerts.append(Alert(text_id, "unmasked_text"))
        if texts and len(kept_texts) != len(texts):
            data["texts"] = kept_texts
        attributes = _list_field(data, "attributes")
        kept_attributes = []
        for attr in attributes:
            if not isinstance(attr, dict) or not isinstance(attr.get("attributes"), dict):
                continue
            keep, c, a = self.check_attribute_change(attr)
            changed |= c
            alerts += a
            if keep:
                kept_attributes.append(attr)
            else:
                changed = True
        if attributes and len(kept_attributes) != len(attributes):
            data["attributes"] = kept_attributes
        return changed, alerts

    def register(self, node_id: int, tag: str, attrs: dict, parent: int | None) -> Node:
        """Know an element (in place of one with its id) under `parent`."""
        elements = self.elements
        if node_id in elements:
            self.forget(node_id)  # moved: out of its old place first
        node = elements[node_id] = Node(tag, attrs, parent)
        self._count += 1
        self._pos[node_id] = self._seq
        self._seq += 1
        ident = attrs.get("id")
        if isinstance(ident, str):
            self._ids.setdefault(ident, {})[node_id] = None
        if parent is not None:
            if parent in elements:
                self.children.setdefault(parent, {})[node_id] = None
            else:
                self._orphans.setdefault(parent, []).append(node_id)
        orphans = self._orphans.pop(node_id, None) if self._orphans else None
        if orphans is not None:
            # Elements that named this one as their parent before it came (or came back) are its
            # children: the chain of ancestors above them changed.
            kids = self.children.setdefault(node_id, {})
            for kid in orphans:
                other = elements.get(kid)
                if other is not None and other.parent == node_id:
                    kids[kid] = None
            self._forget_chains()
        return node

    def forget(self, node_id: int) -> None:
        node = self.elements.pop(node_id, None)
        if node is not None:
            self._count -= 1
            siblings = self.children.get(node.parent) if node.parent is not None else None
            if siblings is not None:
                siblings.pop(node_id, None)
            self._pos.pop(node_id, None)
            self._unindex_id(node_id, node.attrs.get("id"))
        kids = self.children.pop(node_id, None)
        if kids:
            # Its descendants stay known, under an absent parent, until it comes back.
            self._orphans.setdefault(node_id, []).extend(kids)
            self._forget_chains()
        else:
            self._forget_chains((node_id,))
        self.text_parent.pop(node_id, None)
        self.documents.discard(node_id)

    def _unindex_id(self, node_id: int, ident) -> None:
        if isinstance(ident, str):
            bucket = self._ids.get(ident)
            if bucket is not None:
                bucket.pop(node_id, None)
                if not bucket:
                    del self._ids[ident]

    def check_attribute_change(self, change: dict) -> tuple[bool, bool, list[Alert]]:
        node_id = node_id_of(change.get("id"))
        if node_id is None:
            return False, True, []
        change["id"] = node_id
        node = self.elements.get(node_id)
        attrs = change["attributes"]
        if node is not None:
            ident = node.attrs.get("id")
            for name, value in attrs.items():
                if value is None:
                    node.attrs.pop(name, None)
                elif not isinstance(value, dict):
                    node.attrs[name] = value
            if node.attrs.get("id") != ident or type(node.attrs.get("id")) is not type(ident):
                self._unindex_id(node_id, ident)
                if isinstance(node.attrs.get("id"), str):
                    self._ids.setdefault(node.attrs["id"], {})[node_id] = None
            self.remember_password(node)
            # A class or type change can bring a node, and what is inside it, under a rule (never
            # out: masks are sticky). Changes no selector reads (style, most often) cost nothing.
            if any(name.lower() in self.rule_attrs for name in attrs):
                self.reclassify(node_id)
            elif any(_ascii_lower(name) in self._plan.read_names for name in attrs):
                self._forget_chains()
        mask = self.mask_of(node_id)
        if not mask:
            return True, False, []
        changed, alerts = self.scrub_attrs(node_id, attrs, mask, in_snapshot=False)
        # A class or style that changes with the value (a chosen radio card, a validation state)
        # tells the agent about it: changes on masked nodes are not relayed.
        for name in [n for n in attrs if n.lower() in ("class", "style")]:
            del attrs[name]
            changed = True
        return True, changed, alerts

    # -- trees ----------------------------------------------------------------------------------

    def ancestors(self, node_id: int | None) -> list[int]:
        chain: list[int] = []
        while node_id is not None and node_id in self.elements and len(chain) < 1000:
            chain.append(node_id)
            node_id = self.elements[node_id].parent
        return list(reversed(chain))

    def _above(self, node_id: int | None) -> set[int]:
        """Every element at and above a registered one (no limit: this is what forbids cycles)."""
        found: set[int] = set()
        current: int | None = node_id
        while current is not None and current in self.elements and current not in found:
            found.add(current)
            current = self.elements[current].parent
        self._cost += len(found)
        return found

    def scan_tree(self, root: dict, *, parent: int | None) -> tuple[bool, bool, list[Alert]]:
        """Register, classify and scrub a serialized subtree whose parent is already known.

        Returns (keep, changed, alerts); a root without a usable id is not kept, and children
        without one are removed from the tree.
        """
        root_id = node_id_of(root.get("id"))
        if root_id is None:
            return False, True, []
        root["id"] = root_id
        elements = self.elements
        # A node added under itself or under one of its own ancestors would make a cycle; so
        # would one that an ancestor names as its absent parent (`tail`).
        above_parent = self._chain_state(parent) if parent in elements else None
        tail = above_parent[2] if above_parent is not None else parent
        above: set[int] | None = None

        def is_above(candidate: int) -> bool:
            nonlocal above
            if candidate == tail:
                return True
            if above_parent is None or candidate not in elements:
                return False
            if above is None:
                above = self._above(parent)
            return candidate in above

        if is_above(root_id):
            return False, True, []
        seen = {root_id}
        changed = False
        # Register every element first so that classification sees the whole subtree.
        stack = [(root, parent)]
        order = []
        nodes: list[tuple[int, Node]] = []
        register = self.register
        while stack:
            node, parent_id = stack.pop()
            node_id = node["id"]
            kind = node.get("type")
            if kind == ELEMENT:
                attrs = node.get("attributes")
                if not isinstance(attrs, dict):
                    attrs = node["attributes"] = {}
                tag = node.get("tagName", "")
                tag = tag.lower() if type(tag) is str else str(tag).lower()
                nodes.append((node_id, register(node_id, tag, attrs, parent_id)))
                order.append(node)
            elif kind == TEXT and parent_id is not None:
                self.text_parent[node_id] = parent_id
            elif kind == DOCUMENT:
                self.documents.add(node_id)
            children = node.get("childNodes")
            if isinstance(children, list):
                usable = []
                for child in children:
                    if not isinstance(child, dict):
                        continue
                    child_id = child.get("id")
                    if type(child_id) is not int:
                        child_id = node_id_of(child_id)
                        if child_id is None:
                            continue
                    # Each id once per tree, never one of the tree's ancestors: no cycles.
                    if child_id in seen or child_id == tail:
                        continue
                    if above_parent is not None and child_id in elements and is_above(child_id):
                        continue
                    seen.add(child_id)
                    child["id"] = child_id
                    usable.append(child)
                if len(usable) != len(children):
                    node["childNodes"] = children = usable
                    changed = True
                own = node_id if kind == ELEMENT else parent_id
                for child in reversed(children):
                    stack.append((child, own))
        self._cost += len(seen)
        if not order:
            # A text node added on its own: masked if its parent element is.
            c, a = self.scrub_loose_text(root, parent)
            return True, changed or c, a
        top = self._slot_state(parent) if parent is not None and above_parent else (0, 0)
        matched = self._match(nodes, top, lambda: self.ancestors(parent))
        self.classify_all(nodes, matched)
        self.cover_descendants(nodes, above_parent[0] if above_parent is not None else None)
        self.cover_picture_sources([node_id for node_id, _node in nodes])
        alerts: list[Alert] = []
        covered: set[int] = set()  # elements whose text and attributes a masked one scrubbed
        masked, restricted = self.masked, self.restricted
        for node in order:
            node_id = node["id"]
            if node_id in masked or node_id in restricted:
                c, a = self.scrub_element(node, matched.get(node_id, []), covered)
                changed |= c
                alerts += a
        return True, changed, alerts

    def cover_descendants(self, nodes: list[tuple[int, Node]], above: str | None) -> None:
        """Masks cover descendants: an input inside a masked container is masked too. `nodes`
        come parents first; `above` covers those whose parent is not among them."""
        masked, restricted = self.masked, self.restricted
        covers: dict[int, str | None] = {}
        for node_id, node in nodes:
            parent = node.parent
            cover = covers[parent] if parent in covers else above
            if node_id not in masked and cover:
                masked[node_id] = cover
            if node_id in masked:
                cover = masked[node_id]
            elif restricted.get(node_id) == "field":
                cover = "input"
            covers[node_id] = cover

    def classify_all(self, nodes: list[tuple[int, Node]], matched: dict[int, list]) -> None:
        """classify_matches() for each node in order, without a call for the many that neither
        match, nor are inputs, nor carry the widget's marks."""
        for node_id, node in nodes:
            attrs = node.attrs
            if (
                node_id in matched
                or node.tag == "input"
                or MASK_ATTR in attrs
                or RESTRICT_ATTR in attrs
            ):
                self.classify_matches(node_id, matched.get(node_id, []))

    def classify_matches(self, node_id: int, matches: list) -> None:
        for family, kind, _selector in matches:
            target = self.masked if family == "mask" else self.restricted
            target.setdefault(node_id, kind)
        node = self.elements[node_id]
        self.remember_password(node)
        if self.was_password(node):
            self.masked.setdefault(node_id, "input")
        # The widget's own marks only ever add masking (a "shown" password it remembers).
        attrs = self.elements[node_id].attrs
        mark = attrs.get(MASK_ATTR)
        if isinstance(mark, str) and mark:
            self.masked.setdefault(node_id, mark if mark in MASK_KINDS else "input")
        mark = attrs.get(RESTRICT_ATTR)
        if isinstance(mark, str) and mark:
            self.restricted.setdefault(node_id, mark if mark in RESTRICT_KINDS else "field")

    def cover_picture_sources(self, node_ids: list[int]) -> None:
        """A `<picture>`'s `<source srcset>` shows the image a masked `<img>` in it hides."""
        pictures = set()
        for node_id in node_ids:
            node = self.elements.get(node_id)
            if node is None or (node.tag != "img" and node.tag != "source"):
                continue
            if node.parent in self.elements:
                if self.elements[node.parent].tag == "picture":
                    pictures.add(node.parent)
        for picture in pictures:
            kids = self.children.get(picture, {})
            if any(self.masked.get(k) == "block" for k in kids) or self.masked.get(picture):
                for kid in kids:
                    if self.elements[kid].tag in ("source", "img"):
                        if self.masked.get(kid) != "block":
                            self.masked[kid] = "block"
                            self._forget_chains()

    def reclassify(self, node_id: int) -> None:
        """Match a node and its registered descendants again after its attributes changed."""
        nodes: list[tuple[int, Node]] = []
        seen: set[int] = set()
        stack = [node_id]
        while stack and len(nodes) < 100_000:
            current = stack.pop()
            if current in self.elements and current not in seen:
                seen.add(current)
                nodes.append((current, self.elements[current]))
                stack.extend(reversed(self.children.get(current, {})))
        parent = self.elements[node_id].parent
        above = self._chain_state(parent) if parent in self.elements else None
        top = self._slot_state(parent) if parent is not None and above else (0, 0)
        matched = self._match(nodes, top, lambda: self.ancestors(parent))
        self.classify_all(nodes, matched)
        self.cover_descendants(nodes, above[0] if above is not None else None)
        self.cover_picture_sources([n for n, _ in nodes])
        # What the chain of ancestors tells about these elements may have changed.
        if stack:
            self._forget_chains()
        else:
            self._forget_chains(current for current, _node in nodes)

    def scrub_loose_text(self, node: dict, parent: int | None):
        value = node.get("textContent")
        if node.get("type") == TEXT and self.mask_of(parent):
            if isinstance(value, str) and not is_starred(value):
                node["textContent"] = self.stars(value)
                return True, [Alert(node.get("id", -1), "unmasked_text")]
        return False, []

    def match(self, order: list[dict], ancestors: list[int]) -> dict[int, list]:
        return self.match_nodes([(n["id"], self.elements[n["id"]]) for n in order], ancestors)

    def match_nodes(self, nodes: list[tuple[int, Node]], ancestors: list[int]) -> dict[int, list]:
        """Every rule that matches each of `nodes` (a subtree, parents first) under `ancestors`
        (the chain above it, top first), as soupsieve would on a soup of the chain and subtree."""
        plan = self._plan
        up = par = 0
        if plan.rel is not None:
            for ancestor_id in ancestors:
                tag, amap, names, ident, classes = self._features(
                    ancestor_id, self.elements[ancestor_id]
                )
                par = plan.rel.bits(tag, amap, names, ident, classes, (up, par, 0, 0))
                up, par = (0, 0) if tag == "template" else (up | (par & plan.desc), par)
        return self._match(nodes, (up, par), lambda: ancestors)

    def _features(self, node_id: int, node: Node) -> tuple[str, dict, frozenset, str, frozenset]:
        """An element as soupsieve sees it in the guard's soup (see _tag): tag name, attributes by
        lower-case name (the first of each name, as soupsieve reads them), names, id, classes."""
        tag = node.tag or "div"
        amap: dict[str, str | tuple[str]] = {}
        size = 0
        lower = _NAMES
        for key, value in node.attrs.items():
            if value is True:
                text = ""
            elif value is False or value is None:
                continue
            elif type(value) is str:
                text = value
            elif isinstance(value, (str, int, float)):
                text = str(value)
            else:
                continue
            if not isinstance(key, str):
                continue
            name = lower.get(key)
            if name is None:
                if len(lower) >= 10_000:
                    lower.clear()
                name = lower[key] = _ascii_lower(key)
            if name not in amap:
                if key == "data-rrid":
                    text = str(node_id)
                # Spelled otherwise (`Class`), beautifulsoup keeps it as text: marked as a 1-tuple.
                amap[name] = text if key == name else (text,)
            size += len(key) + len(text)
        self._bytes += size
        plan = self._plan
        if plan.uses_rrid and "data-rrid" not in amap:
            amap["data-rrid"] = str(node_id)
        if not amap:
            return tag, amap, _NO_NAMES, "", _NO_CLASSES
        item = amap.get("id")
        ident = "" if item is None else item if type(item) is str else item[0]
        classes = _NO_CLASSES
        if plan.uses_classes:
            item = amap.get("class")
            if item is not None:
                # beautifulsoup splits `class` into words; another spelling stays text, which
                # soupsieve splits on CSS whitespace.
                if type(item) is str:
                    classes = frozenset(item.split())  # beautifulsoup's re `\S+`: the same words
                else:
                    classes = frozenset(_CSS_WORDS.findall(item[0]))
        return tag, amap, frozenset(amap), ident, classes

    def _element(self, node_id: int, node: Node) -> tuple:
        """An element read for the matcher: its features (see _features), the bits its own
        attributes decide, and the candidates that need its context. Elements alike share one."""
        plan = self._plan
        attrs = node.attrs
        key = None
        if not plan.uses_rrid:
            values = tuple(attrs.values())
            for value in values:
                if type(value) is not str:  # True == 1 == 1.0: only text values key the memo
                    break
            else:
                key = (node.tag, tuple(attrs), values)
                found = plan.alike.get(key)
                if found is not None:
                    self._bytes += found[7]
                    return found
        before = self._bytes
        tag, amap, names, ident, classes = self._features(node_id, node)
        free, dependent = plan.entry.split(tag, amap, names, ident, classes)
        found = (tag, amap, names, ident, classes, free, dependent, self._bytes - before)
        if key is not None and len(attrs) <= 32:
            if len(plan.alike) >= 4096:
                plan.alike.clear()
            plan.alike[key] = found
        return found

    def _match(
        self, nodes: list[tuple[int, Node]], top: tuple[int, int], ancestors
    ) -> dict[int, list]:
        """The rules matching each node: one pass in document order. `top`: the slots the chain
        above matches (ancestors, parent) for nodes whose parent is not among `nodes`."""
        plan = self._plan
        self._cost += len(nodes)
        found: dict[int, int] = {}  # node id -> bits of the entries it matches
        if plan.empty:
            return {}
        element = self._element
        entry_bits = plan.entry_bits
        if plan.rel is None:
            for node_id, node in nodes:
                bits = element(node_id, node)[5]  # no combinators: the element alone decides
                if bits:
                    found[node_id] = bits
        else:
            desc, sib_slots = plan.desc, plan.sib
            states: dict[int, tuple[int, int]] = {}  # element -> slots for its children
            last: dict[object, tuple[int, int]] = {}  # parent -> its last child's slots
            no_siblings = (0, 0)
            for node_id, node in nodes:
                parent = node.parent
                key: object = parent
                state = states.get(parent) if parent is not None else None
                if state is None:
                    state, key = top, _TOP  # under the chain's last element (or the soup)
                up, par = state
                prev, sib = last.get(key, no_siblings)
                tag, amap, _names, ident, classes, bits, dependent, _size = element(node_id, node)
                if dependent:
                    context = (up, par, prev, sib) if up or par or prev or sib else _NO_CONTEXT
                    for sel, bit in dependent:
                        if not bits & bit and sel.test(tag, amap, ident, classes, context):
                            bits |= bit
                ms = bits & ~entry_bits
                if bits & entry_bits:
                    found[node_id] = bits & entry_bits
                last[key] = (ms, sib | (ms & sib_slots)) if ms or sib else no_siblings
                # soupsieve does not look above a template's contents.
                if tag == "template":
                    states[node_id] = no_siblings
                elif ms:
                    states[node_id] = (up | (ms & desc), ms)
                else:
                    states[node_id] = state if not state[1] else (up, 0)
        if plan.slow:
            self._match_slow(nodes, ancestors(), found)
        return self._decode(found)

    def _match_slow(
        self, nodes: list[tuple[int, Node]], ancestors: list[int], found: dict[int, int]
    ) -> None:
        """The rules the matcher leaves to soupsieve, on a small soup (ancestor chain + subtree):
        one filter() per rule list, which shares soupsieve's caches between the elements."""
        soup = BeautifulSoup("", "html.parser")
        tags: dict[int, Tag] = {}
        holder: Tag | BeautifulSoup = soup
        for ancestor_id in ancestors:
            tag = self._tag(soup, ancestor_id, self.elements[ancestor_id])
            holder.append(tag)
            holder = tag
        top = holder
        for node_id, node in nodes:
            tag = self._tag(soup, node_id, node)
            tags[node_id] = tag
            parent = tags.get(node.parent) if node.parent in tags else None
            (parent or top).append(tag)
        index = ElementIndex(tags)
        back = {id(tag): node_id for node_id, tag in tags.items()}
        for entry_index, selector in self._plan.slow:
            pattern = compile_selector(selector)
            candidates = [tags[n] for n in index.candidates(subject_keys(selector))]
            for tag in pattern.filter(candidates):
                node_id = back[id(tag)]
                found[node_id] = found.get(node_id, 0) | (1 << entry_index)

    def _decode(self, found: dict[int, int]) -> dict[int, list]:
        entries = self._plan.entries
        counts = [0] * len(entries)
        matched: dict[int, list] = {}
        for node_id, bits in found.items():
            rules = []
            while bits:
                low = bits & -bits
                index = low.bit_length() - 1
                rules.append(entries[index])
                counts[index] += 1
                bits ^= low
            matched[node_id] = rules
        for index, count in enumerate(counts):
            if count:
                self.hits[entries[index][2]] += count
        return matched

    def inherited_mask(self, parent: int | None) -> str | None:
        """Masks cover descendants: an input inside a masked container is masked too."""
        if parent is None or parent not in self.elements:
            return None
        return self._chain_state(parent)[0]

    @staticmethod
    def _tag(soup: BeautifulSoup, node_id: int, node: Node) -> Tag:
        attrs = {}
        for name, value in node.attrs.items():
            if isinstance(value, bool):
                if value:
                    attrs[name] = ""
            elif isinstance(value, (str, int, float)):
                attrs[name] = str(value)
        attrs["data-rrid"] = str(node_id)
        return soup.new_tag(node.tag or "div", attrs=attrs)

    def scrub_attrs(
        self, node_id: int, attrs: dict, mask: str, *, in_snapshot: bool, selector: str = ""
    ) -> tuple[bool, list[Alert]]:
        """Only harmless attributes pass on a masked element; what describes it becomes ****."""
        changed, alerts = False, []
        keep = BLOCK_KEEP_ATTRS if mask == "block" else SAFE_ATTRS
        for name in list(attrs):
            value = attrs[name]
            lowered = name.lower()
            if mask != "block" and lowered in SENSITIVE_ATTRS:
                if isinstance(value, str) and value and not is_starred(value):
                    attrs[name] = self.stars(value)
                    changed = True
                    alerts.append(Alert(node_id, f"unmasked_attribute:{lowered}", selector))
                elif value is not None and not isinstance(value, str):
                    attrs[name] = MASK
                    changed = True
            elif mask != "block" and lowered in STATE_ATTRS:
                if value not in (None, False):
                    if in_snapshot:
                        del attrs[name]
                    else:
                        attrs[name] = None
                    changed = True
            elif lowered not in keep and value is not None:
                if in_snapshot:
                    del attrs[name]
                else:
                    attrs[name] = None
                changed = True
                if mask == "block":
                    alerts.append(Alert(node_id, f"unblocked_attribute:{lowered}", selector))
        return changed, alerts

    def scrub_element(
        self, node: dict, matches: list, covered: set[int] | None = None
    ) -> tuple[bool, list[Alert]]:
        """Scrub one element of a scanned tree. `covered`: elements a masked ancestor's scrub of
        its descendants already reached (scrubbing them again changes nothing)."""
        node_id = node["id"]
        mask = self.masked.get(node_id)
        restrict = self.restricted.get(node_id)
        if not mask and not restrict:
            return False, []
        attrs = node.setdefault("attributes", {})
        changed, alerts = False, []
        selector = matches[0][2] if matches else ""
        # Marks drive the agent's green and purple boxes.
        if mask and attrs.get(MASK_ATTR) != mask:
            attrs[MASK_ATTR] = mask
            changed = True
        if restrict and attrs.get(RESTRICT_ATTR) != restrict:
            attrs[RESTRICT_ATTR] = restrict
            changed = True
        if mask == "block":
            c, a = self.scrub_attrs(node_id, attrs, "block", in_snapshot=True, selector=selector)
            if node.get("childNodes"):
                node["childNodes"] = []
                c = True
            if c:
                changed = True
                alerts.append(Alert(node_id, "unblocked_element", selector))
            return changed, alerts
        if mask or restrict == "field":
            c, a = self.scrub_attrs(
                node_id, attrs, mask or "input", in_snapshot=True, selector=selector
            )
            changed |= c
            alerts += a
            if covered is None or node_id not in covered:
                c, a = self.scrub_descendant_text(node, selector, covered)
                changed |= c
                alerts += a
        return changed, alerts

    def scrub_descendant_text(
        self, node: dict, selector: str, covered: set[int] | None = None
    ) -> tuple[bool, list[Alert]]:
        changed, alerts = False, []
        stack = list(node.get("childNodes") or [])
        walked = 0
        while stack:
            child = stack.pop()
            walked += 1
            if not isinstance(child, dict):
                continue
            if child.get("type") == TEXT:
                value = child.get("textContent")
                if isinstance(value, str) and not is_starred(value):
                    child["textContent"] = self.stars(value)
                    changed = True
                    alerts.append(Alert(child.get("id", -1), "unmasked_text", selector))
            elif child.get("type") == ELEMENT:
                if covered is not None:
                    covered.add(child["id"])
                attrs = child.get("attributes")
                if isinstance(attrs, dict):
                    c, a = self.scrub_attrs(child["id"], attrs, "input", in_snapshot=True)
                    changed |= c
                    alerts += a
                stack.extend(child.get("childNodes") or [])
        self._cost += walked
        return changed, alerts

    # -- what the agent may act on ----------------------------------------------------------------

    def own_refusal(self, node_id: int) -> str | None:
        """Restricted or masked, by its own rule or an ancestor's."""
        current: int | None = node_id
        seen = 0
        while current is not None and current in self.elements and seen < 1000:
            if current in self.restricted:
                return f"restricted {self.restricted[current]}"
            if current in self.masked:
                return "masked field"
            current = self.elements[current].parent
            seen += 1
        return None

    def refuses(self, node_id) -> str | None:
        """Why the agent may not act on this node, or None.

        Refused: a node the guard does not know; a node that is, or is inside, a restricted or
        masked element; a label (or what is inside one) for such a control; anything that would
        submit a form (when the site restricts submits); a link that leaves the site.
        """
        node_id = node_id_of(node_id)
        if node_id is None or node_id not in self.elements:
            return "unknown element"
        why = self.own_refusal(node_id)
        if why:
            return why
        chain = self.ancestors(node_id)
        # Whether a form is above each element of the chain, read once from the top (asking
        # submits() walks up again for each one). A chain cut at 1,000 asks it.
        whole = len(chain) < 1000 or self.elements[chain[0]].parent not in self.elements
        form_above = []
        inside = False
        for current in chain:
            form_above.append(inside)
            inside = inside or self.elements[current].tag == "form"
        for position in range(len(chain) - 1, -1, -1):
            current = chain[position]
            node = self.elements[current]
            if node.tag == "label":
                for control in self.label_controls(current):
                    why = self.own_refusal(control)
                    if why:
                        return f"label of a {why}"
            if self.submit_restricted and self._submits(
                current, form_above[position] if whole else None
            ):
                return "restricted control (it submits a form)"
            if node.tag in ("a", "area") and self.leaves_site(node):
                return "restricted control (a link off the site)"
        return None

    def refused_ids(self) -> list[list]:
        """[node id, why] for every masked or restricted element: what the agent's consumer
        refuses before a command reaches the customer (the agent's browser is never told)."""
        refused = [[node_id, self.refuses(node_id)] for node_id in self.masked]
        return refused + [[node_id, self.refuses(node_id)] for node_id in self.restricted]

    def describe(self, node_id: int | None) -> str:
        """How the audit trail names an element: tag, id and the first three classes."""
        node = self.elements.get(node_id) if node_id is not None else None
        if node is None:
            return ""
        text = node.tag
        if isinstance(node.attrs.get("id"), str):
            text += "#" + node.attrs["id"]
        if isinstance(node.attrs.get("class"), str) and node.attrs["class"].strip():
            text += "." + ".".join(node.attrs["class"].split()[:3])
        return text[:200]

    def scroll_refusal(self, node_id) -> str | None:
        """Why the agent may not scroll this node, or None. A scroll acts on no control and
        submits nothing: a document always scrolls; an element does unless the guard does not
        know it or it is (inside) a masked or restricted element."""
        node_id = node_id_of(node_id)
        if node_id is not None and node_id in self.documents:
            return None
        if node_id is None or node_id not in self.elements:
            return "unknown element"
        return self.own_refusal(node_id)

    def label_controls(self, label_id: int) -> list[int]:
        """The control a label labels: by its `for` attribute, else the controls inside it."""
        target = self.elements[label_id].attrs.get("for")
        if isinstance(target, str) and target:
            # Every element with that id, in document order, from the index of ids.
            self._sync()
            elements = self.elements
            found = [
                n
                for n in self._ids.get(target, ())
                if n in elements and elements[n].attrs.get("id") == target
            ]
            if len(found) > 1:
                found.sort(key=lambda n: self._pos.get(n, 0))
            return found
        found, stack, seen = [], list(self.children.get(label_id, {})), {label_id}
        while stack and len(seen) < 100_000:
            current = stack.pop()
            if current in seen or current not in self.elements:
                continue
            seen.add(current)
            if self.elements[current].tag in LABELABLE:
                found.append(current)
            stack.extend(self.children.get(current, {}))
        return found

    def submits(self, node_id: int) -> bool:
        """Would activating this element submit a form? (HTML: a button's missing, empty or
        invalid type is the submit state; values compare ASCII-case-insensitively, untrimmed.)"""
        return self._submits(node_id, None)

    def _submits(self, node_id: int, form_above: bool | None) -> bool:
        node = self.elements[node_id]
        kind = node.attrs.get("type")
        kind = kind.lower() if isinstance(kind, str) else None
        if node.tag == "input":
            return kind in ("submit", "image", "reset")  # a reset wipes what the customer typed
        if node.tag != "button" or kind == "button":
            return False
        if node.attrs.get("form") not in (None, False):
            return True  # form="pay": a form elsewhere on the page
        if form_above is not None:
            return form_above
        return any(self.elements[a].tag == "form" for a in self.ancestors(node.parent))

    def leaves_site(self, node: Node) -> bool:
        href = node.attrs.get("href")
        if not isinstance(href, str):
            href = node.attrs.get("xlink:href")
        if not isinstance(href, str):
            return False  # not a link
        href = href.strip()
        if href.startswith("#"):
            return False
        if "\\" in href or any(ord(ch) < 0x21 for ch in href):
            return True  # browsers read `\` as `/`: `/\\evil.example/` is another host
        try:
            if urlsplit(urljoin(self.page_url, href) if self.page_url else href).username:
                return True  # `https://evil.example\@shop.example/` and user-info tricks
        except ValueError:
            return True
        target = urljoin(self.page_url, href) if self.page_url else href
        if "://" not in target and not target.startswith("//") and ":" not in target.split("/")[0]:
            return False  # relative to a page of the site
        origin = _origin(target)
        return origin is None or origin not in self.origins
