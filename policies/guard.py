"""The server's privacy guard: the second line of defence.

The widget masks in the customer's browser before anything is sent. The guard re-applies the same
compiled policy to what arrives, with beautifulsoup4/soupsieve on rrweb's serialized nodes, scrubs
anything that should have been masked and reports it (where and which rule, never the value).

It keeps a light map of element nodes (tag, attributes, parent) so that selectors with ancestors
(`.billing input`) match nodes added later too. Input events, the per-keystroke hot path, cost one
set lookup.
"""

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import soupsieve
from bs4 import BeautifulSoup, Tag

# rrweb's serialized node and event types
DOCUMENT, DOCTYPE, ELEMENT, TEXT = 0, 1, 2, 3
FULL_SNAPSHOT, INCREMENTAL = 2, 3
MUTATION, INPUT = 0, 5

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


def node_id_of(value) -> int | None:
    """rrweb node ids are integers; anything else in a frame is ignored, never used as a key."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def stars(text: str) -> str:
    return "".join(ch if ch.isspace() else "*" for ch in text)


def is_starred(text: str) -> bool:
    return all(ch == "*" or ch.isspace() for ch in text)


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
    elements: dict[int, Node] = field(default_factory=dict)
    text_parent: dict[int, int] = field(default_factory=dict)
    masked: dict[int, str] = field(default_factory=dict)  # node id -> input | text | block
    restricted: dict[int, str] = field(default_factory=dict)  # node id -> control | field
    hits: Counter = field(default_factory=Counter)  # selector -> elements matched (policy lint)

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
        groups = [
            ("mask", "input", valid(mask["input"])),
            ("mask", "text", valid(mask["text"])),
            ("mask", "block", valid(mask["block"])),
            ("restrict", "field", valid(restrict["field"])),
            ("restrict", "control", valid(restrict["control"])),
        ]
        self.rules = []
        for family, kind, selectors in groups:
            if not selectors:
                continue
            if self.per_selector:
                compiled = [(s, compile_selector(s)) for s in selectors]
            else:
                joined = ", ".join(selectors)
                compiled = [(joined, compile_selector(joined))]
            self.rules.append((family, kind, compiled))

    # -- events ---------------------------------------------------------------------------------

    def check_events(self, events: list) -> tuple[bool, list[Alert]]:
        """Scrub a batch in place. Returns (changed, alerts); `changed` includes added marks."""
        changed, alerts = False, []
        for event in events:
            if not isinstance(event, dict):
                continue
            kind = event.get("type")
            data = event.get("data")
            if not isinstance(data, dict):
                continue
            if kind == FULL_SNAPSHOT:
                self.reset()
                node = data.get("node")
                if isinstance(node, dict):
                    c, a = self.scan_tree(node, parent=None, ancestors=[])
                    changed |= c
                    alerts += a
            elif kind == INCREMENTAL:
                source = data.get("source")
                if source == INPUT:
                    c, a = self.check_input(data)
                elif source == MUTATION:
                    c, a = self.check_mutation(data)
                else:
                    continue
                changed |= c
                alerts += a
        return changed, alerts

    def reset(self) -> None:
        self.elements.clear()
        self.text_parent.clear()
        self.masked.clear()
        self.restricted.clear()

    def check_input(self, data: dict) -> tuple[bool, list[Alert]]:
        node_id = node_id_of(data.get("id"))
        if node_id is None:
            return False, []
        if node_id not in self.masked and self.restricted.get(node_id) != "field":
            return False, []
        changed = False
        text = data.get("text")
        if isinstance(text, str) and not is_starred(text):
            data["text"] = stars(text)
            changed = True
        if data.get("isChecked"):
            data["isChecked"] = False
            changed = True
        return changed, [Alert(node_id, "unmasked_input")] if changed else []

    def check_mutation(self, data: dict) -> tuple[bool, list[Alert]]:
        changed, alerts = False, []
        for removed in data.get("removes") or []:
            if isinstance(removed, dict) and node_id_of(removed.get("id")) is not None:
                self.elements.pop(removed["id"], None)
        for add in data.get("adds") or []:
            if not isinstance(add, dict) or not isinstance(add.get("node"), dict):
                continue
            parent = node_id_of(add.get("parentId"))
            c, a = self.scan_tree(add["node"], parent=parent, ancestors=self.ancestors(parent))
            changed |= c
            alerts += a
        for text in data.get("texts") or []:
            if not isinstance(text, dict):
                continue
            parent = self.text_parent.get(node_id_of(text.get("id")))
            value = text.get("value")
            if self.masks_text(parent) and isinstance(value, str) and not is_starred(value):
                text["value"] = stars(value)
                changed = True
                alerts.append(Alert(text.get("id"), "unmasked_text"))
        for attr in data.get("attributes") or []:
            if not isinstance(attr, dict) or not isinstance(attr.get("attributes"), dict):
                continue
            c, a = self.check_attribute_change(attr)
            changed |= c
            alerts += a
        return changed, alerts

    def check_attribute_change(self, change: dict) -> tuple[bool, list[Alert]]:
        node_id = node_id_of(change.get("id"))
        if node_id is None:
            return False, []
        node = self.elements.get(node_id)
        attrs = change["attributes"]
        if node is not None:
            for name, value in attrs.items():
                if value is None:
                    node.attrs.pop(name, None)
                elif not isinstance(value, dict):
                    node.attrs[name] = value
            # A class or type change can bring a node under a rule (never out: masks are sticky).
            self.classify(node_id, node, self.ancestors(node.parent))
        changed, alerts = False, []
        if node_id in self.masked or self.restricted.get(node_id) == "field":
            for name in SENSITIVE_ATTRS:
                value = attrs.get(name)
                if isinstance(value, str) and value and not is_starred(value):
                    attrs[name] = stars(value)
                    changed = True
                    alerts.append(Alert(node_id, f"unmasked_attribute:{name}"))
            for name in STATE_ATTRS:
                if attrs.get(name) not in (None, False):
                    attrs[name] = None
                    changed = True
        return changed, alerts

    # -- trees ----------------------------------------------------------------------------------

    def ancestors(self, node_id: int | None) -> list[int]:
        chain = []
        while node_id is not None and node_id in self.elements and len(chain) < 200:
            chain.append(node_id)
            node_id = self.elements[node_id].parent
        return list(reversed(chain))

    def masks_text(self, element_id: int | None) -> bool:
        while element_id is not None and element_id in self.elements:
            if self.masked.get(element_id) in ("text", "input", "block"):
                return True
            if self.restricted.get(element_id) == "field":
                return True
            element_id = self.elements[element_id].parent
        return False

    def scan_tree(self, root: dict, *, parent: int | None, ancestors: list[int]):
        """Register, classify and scrub a serialized subtree whose parent is already known."""
        # Register every element first so that classification sees the whole subtree.
        stack = [(root, parent)]
        order = []
        while stack:
            node, parent_id = stack.pop()
            node_id = node_id_of(node.get("id"))
            kind = node.get("type")
            if kind == ELEMENT and node_id is not None:
                attrs = node.get("attributes") if isinstance(node.get("attributes"), dict) else {}
                self.elements[node_id] = Node(
                    str(node.get("tagName", "")).lower(), attrs, parent_id
                )
                order.append(node)
            elif kind == TEXT and node_id is not None and parent_id is not None:
                self.text_parent[node_id] = parent_id
            children = node.get("childNodes")
            if isinstance(children, list):
                own = node_id if kind == ELEMENT else parent_id
                for child in reversed(children):
                    if isinstance(child, dict):
                        stack.append((child, own))
        if not order:
            # A text node added on its own: masked if its parent element is.
            return self.scrub_loose_text(root, parent)
        matched = self.match(order, ancestors)
        changed, alerts = False, []
        for node in order:
            node_id = node["id"]
            for family, kind, _selector in matched.get(node_id, []):
                target = self.masked if family == "mask" else self.restricted
                target.setdefault(node_id, kind)
            if node_id not in self.masked:
                inherited = self.inherited_mask(self.elements[node_id].parent)
                if inherited:
                    self.masked[node_id] = inherited
            c, a = self.scrub_element(node, matched.get(node_id, []))
            changed |= c
            alerts += a
        return changed, alerts

    def scrub_loose_text(self, node: dict, parent: int | None):
        value = node.get("textContent")
        if node.get("type") == TEXT and self.masks_text(parent):
            if isinstance(value, str) and not is_starred(value):
                node["textContent"] = stars(value)
                return True, [Alert(node.get("id", -1), "unmasked_text")]
        return False, []

    def classify(self, node_id: int, node: Node, ancestors: list[int]) -> None:
        matched = self.match_nodes([(node_id, node)], ancestors)
        for family, kind, _selector in matched.get(node_id, []):
            target = self.masked if family == "mask" else self.restricted
            target.setdefault(node_id, kind)
        if node_id not in self.masked:
            inherited = self.inherited_mask(node.parent)
            if inherited:
                self.masked[node_id] = inherited

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
            leaked = [k for k in attrs if k not in BLOCK_KEEP_ATTRS]
            if leaked or node.get("childNodes"):
                for k in leaked:
                    del attrs[k]
                node["childNodes"] = []
                changed = True
                alerts.append(Alert(node_id, "unblocked_element", selector))
            return changed, alerts
        if mask or restrict == "field":
            for name in SENSITIVE_ATTRS:
                value = attrs.get(name)
                if isinstance(value, str) and value and not is_starred(value):
                    attrs[name] = stars(value)
                    changed = True
                    alerts.append(Alert(node_id, f"unmasked_attribute:{name}", selector))
            for name in STATE_ATTRS:
                if attrs.get(name) not in (None, False):
                    del attrs[name]
                    changed = True
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
                    child["textContent"] = stars(value)
                    changed = True
                    alerts.append(Alert(child.get("id", -1), "unmasked_text", selector))
            elif child.get("type") == ELEMENT:
                attrs = child.get("attributes") or {}
                for name in SENSITIVE_ATTRS:
                    value = attrs.get(name)
                    if isinstance(value, str) and value and not is_starred(value):
                        attrs[name] = stars(value)
                        changed = True
                        alerts.append(Alert(child.get("id", -1), f"unmasked_attribute:{name}"))
                for name in STATE_ATTRS:
                    if attrs.get(name) not in (None, False):
                        del attrs[name]
                        changed = True
                stack.extend(child.get("childNodes") or [])
        return changed, alerts

    # -- what the agent may act on ----------------------------------------------------------------

    def refuses(self, node_id: int) -> str | None:
        """Why the agent may not act on this node, or None."""
        if node_id in self.restricted:
            return f"restricted {self.restricted[node_id]}"
        if node_id in self.masked:
            return "masked field"
        return None
