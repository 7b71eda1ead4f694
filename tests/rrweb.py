"""One builder for rrweb-shaped test pages: serialized nodes, events and the widget's frames.

rrweb's shapes, as far as the server reads them: nodes are a document (type 0), elements (2) and
texts (3); events are a meta (4, the page's URL and size), a full snapshot (2) and incremental
changes (3, with a `source`: 0 mutation, 1 mouse move, 5 input). The widget sends events in
`{"type": "events", "seq": n, "events": [...]}` frames.
"""

ORIGIN = "https://shop.example.com"
UNSET = object()


# Nodes


def el(node_id, tag: str, attrs: dict | None = None, children: list | None = None) -> dict:
    return {
        "type": 2,
        "id": node_id,
        "tagName": tag,
        "attributes": attrs or {},
        "childNodes": children or [],
    }


def text(node_id, value: str) -> dict:
    return {"type": 3, "id": node_id, "textContent": value}


def document(*children: dict) -> dict:
    return {"type": 0, "id": 1, "childNodes": list(children)}


def page(*body_children: dict) -> dict:
    """A document of <html id=2><body id=3>...</body></html>."""
    return document(el(2, "html", {}, [el(3, "body", {}, list(body_children))]))


# Events (a timestamp only where a test gives one)


def _stamped(event: dict, timestamp) -> dict:
    return event if timestamp is UNSET else {**event, "timestamp": timestamp}


def meta(href: str, width: int, height: int, *, timestamp=UNSET) -> dict:
    return _stamped(
        {"type": 4, "data": {"href": href, "width": width, "height": height}}, timestamp
    )


def full_snapshot(node: dict, *, timestamp=UNSET) -> dict:
    return _stamped({"type": 2, "data": {"node": node}}, timestamp)


def snapshot(*body_children: dict) -> dict:
    """A full snapshot of `page(...)`."""
    return full_snapshot(page(*body_children))


def incremental(source: int, *, timestamp=UNSET, **data) -> dict:
    return _stamped({"type": 3, "data": {"source": source, **data}}, timestamp)


def mutation(**data) -> dict:
    base = {"adds": [], "removes": [], "texts": [], "attributes": []}
    return incremental(0, **{**base, **data})


def input_event(node_id, value: str, checked: bool = False) -> dict:
    return incremental(5, id=node_id, text=value, isChecked=checked)


def page_load(*body_children: dict, href: str = ORIGIN + "/checkout/", timestamps=False) -> list:
    """What the widget sends for a new page: its meta and a full snapshot of `page(...)`."""
    stamps = (1, 2) if timestamps else (UNSET, UNSET)
    return [
        meta(href, 800, 600, timestamp=stamps[0]),
        full_snapshot(page(*body_children), timestamp=stamps[1]),
    ]


# The widget's frames


def events_frame(seq: int, events: list) -> dict:
    return {"type": "events", "seq": seq, "events": events}


def snapshot_frame(seq: int, href: str = ORIGIN + "/checkout", content: str = "Hello") -> dict:
    """A small full page: a document with one text node."""
    return events_frame(
        seq,
        [
            meta(href, 1280, 720, timestamp=1),
            full_snapshot(document(text(2, content)), timestamp=2),
        ],
    )


def change_frame(seq: int) -> dict:
    return events_frame(seq, [incremental(1, timestamp=3)])
