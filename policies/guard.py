"""The server's privacy guard: the second line of defence.

The widget masks in the customer's browser before anything is sent. The guard re-applies the same
compiled policy to what arrives, with beautifulsoup4/soupsieve on rrweb's serialized nodes, scrubs
anything that should have been masked and reports it (where and which rule, never the value).

It keeps a light map of element nodes (tag, attributes, parent) so that selectors with ancestors
(`.billing input`) match nodes added later too. Input events, the per-keystroke hot path, cost one
set lookup.
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import soupsieve
from bs4 import BeautifulSoup, Tag

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
            attrs = {k.lower() for k in tag.attrs}
            ident = tag.attrs.get("id")
            ids = {ident.lower()} if isinstance(ident, str) else set()
            cls = tag.attrs.get("class")
            classes = {c.lower() for c in (cls.split() if isinstance(cls, str) else cls or [])}
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


@dataclass
class Alert:
    node_id: int
    kind: str
    selector: str = ""


@dataclass
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
    children: dict[int, list[int]] = field(default_factory=dict)  # element id -> element ids
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
        for family, kind, selectors in groups:
            if not selectors:
                continue
            if self.per_selector:
                compiled = [(s, compile_selector(s)) for s in selectors]
            else:
                # One list per shape of subject (`[autocomplete~=…]`, `input[type=…]`, ...): each
                # list is asked only about its own candidates, not every candidate of the kind.
                shapes: dict = {}
                for selector in selectors:
                    shapes.setdefault(repr(subject_keys(selector)), []).append(selector)
                compiled = []
                for group in shapes.values():
                    joined = ", ".join(group)
                    compiled.append((joined, compile_selector(joined)))
            self.rules.append((family, kind, compiled))
        self.rule_attrs = referenced_attributes(
            [s for _f, _k, selectors in groups for s in selectors]
        )

    def stars(self, text: str) -> str:
        return stars(text, self.reveal_length)

    # -- events ---------------------------------------------------------------------------------

    def check_events(self, events: list) -> tuple[bool, list[Alert]]:
        """Scrub a batch in place. Returns (changed, alerts); `changed` includes added marks.

        Events the guard cannot judge are dropped from the list: changes before a full snapshot
        in the same batch (they belong to the page the snapshot replaces), events naming a node
        by anything but an integer, and events that would tell which masked option was chosen.
        """
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

    def mask_of(self, node_id: int | None) -> str | None:
        """The mask covering a node: its own or an ancestor's. A node the guard does not know is
        masked (fail closed): every node of a page arrives in a snapshot or a mutation first."""
        if node_id is None or node_id not in self.elements:
            return "input"
        seen = 0
        while node_id is not None and node_id in self.elements and seen < 1000:
            if node_id in self.masked:
                return self.masked[node_id]
            if self.restricted.get(node_id) == "field":
                return "input"
            node_id = self.elements[node_id].parent
            seen += 1
        return None

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
        for current in reversed(self.ancestors(node_id)):
            if self.elements[current].tag == "label":
                return any(self.mask_of(c) for c in self.label_controls(current))
        return False

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

    def forget(self, node_id: int) -> None:
        node = self.elements.pop(node_id, None)
        if node is not None and node.parent in self.children:
            siblings = self.children[node.parent]
            if node_id in siblings:
                siblings.remove(node_id)
        self.children.pop(node_id, None)
        self.text_parent.pop(node_id, None)
        self.documents.discard(node_id)

    def check_attribute_change(self, change: dict) -> tuple[bool, bool, list[Alert]]:
        node_id = node_id_of(change.get("id"))
        if node_id is None:
            return False, True, []
        change["id"] = node_id
        node = self.elements.get(node_id)
        attrs = change["attributes"]
        if node is not None:
            for name, value in attrs.items():
                if value is None:
                    node.attrs.pop(name, None)
                elif not isinstance(value, dict):
                    node.attrs[name] = value
            self.remember_password(node)
            # A class or type change can bring a node, and what is inside it, under a rule (never
            # out: masks are sticky). Changes no selector reads (style, most often) cost nothing.
            if any(name.lower() in self.rule_attrs for name in attrs):
                self.reclassify(node_id)
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

    def scan_tree(self, root: dict, *, parent: int | None) -> tuple[bool, bool, list[Alert]]:
        """Register, classify and scrub a serialized subtree whose parent is already known.

        Returns (keep, changed, alerts); a root without a usable id is not kept, and children
        without one are removed from the tree.
        """
        root_id = node_id_of(root.get("id"))
        if root_id is None:
            return False, True, []
        root["id"] = root_id
        # A node added under itself or under one of its own descendants would make a cycle.
        above = set(self.ancestors(parent))
        if root_id in above:
            return False, True, []
        seen = {root_id}
        changed = False
        # Register every element first so that classification sees the whole subtree.
        stack = [(root, parent)]
        order = []
        while stack:
            node, parent_id = stack.pop()
            node_id = node["id"]
            kind = node.get("type")
            if kind == ELEMENT:
                attrs = node.get("attributes")
                if not isinstance(attrs, dict):
                    attrs = node["attributes"] = {}
                if node_id in self.elements:
                    self.forget(node_id)  # moved: out of its old place first
                self.elements[node_id] = Node(
                    str(node.get("tagName", "")).lower(), attrs, parent_id
                )
                if parent_id is not None and parent_id in self.elements:
                    self.children.setdefault(parent_id, []).append(node_id)
                order.append(node)
            elif kind == TEXT and parent_id is not None:
                self.text_parent[node_id] = parent_id
            elif kind == DOCUMENT:
                self.documents.add(node_id)
            children = node.get("childNodes")
            if isinstance(children, list):
                usable = []
                for child in children:
                    child_id = node_id_of(child.get("id")) if isinstance(child, dict) else None
                    # Each id once per tree, never one of the tree's ancestors: no cycles.
                    if child_id is not None and child_id not in seen and child_id not in above:
                        seen.add(child_id)
                        child["id"] = child_id
                        usable.append(child)
                if len(usable) != len(children):
                    node["childNodes"] = children = usable
                    changed = True
                own = node_id if kind == ELEMENT else parent_id
                for child in reversed(children):
                    stack.append((child, own))
        if not order:
            # A text node added on its own: masked if its parent element is.
            c, a = self.scrub_loose_text(root, parent)
            return True, changed or c, a
        matched = self.match(order, self.ancestors(parent))
        for node in order:
            self.classify_matches(node["id"], matched.get(node["id"], []))
        for node in order:
            node_id = node["id"]
            if node_id not in self.masked:
                inherited = self.inherited_mask(self.elements[node_id].parent)
                if inherited:
                    self.masked[node_id] = inherited
        self.cover_picture_sources([n["id"] for n in order])
        alerts: list[Alert] = []
        for node in order:
            c, a = self.scrub_element(node, matched.get(node["id"], []))
            changed |= c
            alerts += a
        return True, changed, alerts

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
            kids = self.children.get(picture, [])
            if any(self.masked.get(k) == "block" for k in kids) or self.masked.get(picture):
                for kid in kids:
                    if self.elements[kid].tag in ("source", "img"):
                        self.masked[kid] = "block"

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
                stack.extend(reversed(self.children.get(current, [])))
        matched = self.match_nodes(nodes, self.ancestors(self.elements[node_id].parent))
        for current, _node in nodes:
            self.classify_matches(current, matched.get(current, []))
        for current, node in nodes:
            if current not in self.masked:
                inherited = self.inherited_mask(node.parent)
                if inherited:
                    self.masked[current] = inherited
        self.cover_picture_sources([n for n, _ in nodes])

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
        """Build a small soup (ancestor chain + subtree) and run every rule's selector on it."""
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
        # soupsieve decides every match; the index only spares it elements that cannot match.
        index = ElementIndex(tags)
        matched: dict[int, list] = {}
        for family, kind, selectors in self.rules:
            for selector, pattern in selectors:
                for node_id in index.candidates(subject_keys(selector)):
                    if pattern.match(tags[node_id]):
                        matched.setdefault(node_id, []).append((family, kind, selector))
                        self.hits[selector] += 1
        return matched

    def inherited_mask(self, parent: int | None) -> str | None:
        """Masks cover descendants: an input inside a masked container is masked too."""
        while parent is not None and parent in self.elements:
            if parent in self.masked:
                return self.masked[parent]
            if self.restricted.get(parent) == "field":
                return "input"
            parent = self.elements[parent].parent
        return None

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

    def scrub_element(self, node: dict, matches: list) -> tuple[bool, list[Alert]]:
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
            c, a = self.scrub_descendant_text(node, selector)
            changed |= c
            alerts += a
        return changed, alerts

    def scrub_descendant_text(self, node: dict, selector: str) -> tuple[bool, list[Alert]]:
        changed, alerts = False, []
        stack = list(node.get("childNodes") or [])
        while stack:
            child = stack.pop()
            if not isinstance(child, dict):
                continue
            if child.get("type") == TEXT:
                value = child.get("textContent")
                if isinstance(value, str) and not is_starred(value):
                    child["textContent"] = self.stars(value)
                    changed = True
                    alerts.append(Alert(child.get("id", -1), "unmasked_text", selector))
            elif child.get("type") == ELEMENT:
                attrs = child.get("attributes")
                if isinstance(attrs, dict):
                    c, a = self.scrub_attrs(child["id"], attrs, "input", in_snapshot=True)
                    changed |= c
                    alerts += a
                stack.extend(child.get("childNodes") or [])
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
        for current in reversed(self.ancestors(node_id)):
            node = self.elements[current]
            if node.tag == "label":
                for control in self.label_controls(current):
                    why = self.own_refusal(control)
                    if why:
                        return f"label of a {why}"
            if self.submit_restricted and self.submits(current):
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
            return [n for n, node in self.elements.items() if node.attrs.get("id") == target]
        found, stack, seen = [], list(self.children.get(label_id, [])), {label_id}
        while stack and len(seen) < 100_000:
            current = stack.pop()
            if current in seen or current not in self.elements:
                continue
            seen.add(current)
            if self.elements[current].tag in LABELABLE:
                found.append(current)
            stack.extend(self.children.get(current, []))
        return found

    def submits(self, node_id: int) -> bool:
        """Would activating this element submit a form? (HTML: a button's missing, empty or
        invalid type is the submit state; values compare ASCII-case-insensitively, untrimmed.)"""
        node = self.elements[node_id]
        kind = node.attrs.get("type")
        kind = kind.lower() if isinstance(kind, str) else None
        if node.tag == "input":
            return kind in ("submit", "image", "reset")  # a reset wipes what the customer typed
        if node.tag != "button" or kind == "button":
            return False
        if node.attrs.get("form") not in (None, False):
            return True  # form="pay": a form elsewhere on the page
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
