"""Policy preview and lint for administrators: a page as the agent would see it.

The page's HTML goes through the same server guard that protects live sessions (converted to
rrweb's serialized shape and back), so what the preview shows is what the guard does.
"""

from dataclasses import dataclass, field
from html import escape
from typing import Any

from bs4 import BeautifulSoup, Comment, Doctype, NavigableString, Tag
from django.http import HttpRequest

from policies.guard import ELEMENT, FULL_SNAPSHOT, TEXT, PrivacyGuard
from policies.selectors import DEFAULT_MASK_INPUT, DEFAULT_RESTRICT_SUBMIT, policy_for_site

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
DROP = {"script", "noscript", "iframe", "object", "embed"}
AGENT_CSS = """
[data-cobrowse-restrict="control"]{outline:3px solid #16a34a!important;outline-offset:1px}
[data-cobrowse-restrict="field"],[data-cobrowse-mask="input"],[data-cobrowse-mask="text"]
{outline:3px solid #7c3aed!important;outline-offset:1px}
[data-cobrowse-mask="block"]{background:#d0d5dd!important;outline:3px solid #7c3aed!important;
outline-offset:-3px;color:transparent!important}
[data-cobrowse-mask="block"] *{visibility:hidden!important}
"""


@dataclass
class Preview:
    html: str
    masked: int
    restricted: int
    unmatched: list[str] = field(default_factory=list)
    matched: dict[str, int] = field(default_factory=dict)


def _to_nodes(tag, next_id: list[int]) -> list[dict]:
    nodes = []
    for child in tag.children:
        if isinstance(child, (Comment, Doctype)):
            continue
        next_id[0] += 1
        if isinstance(child, NavigableString):
            nodes.append({"type": TEXT, "id": next_id[0], "textContent": str(child)})
        elif isinstance(child, Tag):
            if child.name in DROP:
                continue
            attrs = {}
            for name, value in child.attrs.items():
                if name.lower().startswith("on"):
                    continue  # inline handlers never run in the agent's view
                value = " ".join(value) if isinstance(value, list) else str(value)
                if name in ("href", "src", "action") and value.strip().lower().startswith(
                    "javascript:"
                ):
                    continue
                attrs[name] = value
            node = {"type": ELEMENT, "id": next_id[0], "tagName": child.name, "attributes": attrs}
            node["childNodes"] = _to_nodes(child, next_id)
            nodes.append(node)
    return nodes


def _to_html(nodes: list[dict]) -> str:
    out = []
    for node in nodes:
        if node["type"] == TEXT:
            out.append(escape(node.get("textContent", ""), quote=False))
            continue
        attrs = "".join(
            f' {name}="{escape(str(value))}"' if value != "" else f" {name}"
            for name, value in node.get("attributes", {}).items()
            if value is not None and value is not False
        )
        name = node["tagName"]
        if node.get("attributes", {}).get("data-cobrowse-mask") == "block":
            out.append(f"<{name}{attrs}></{name}>" if name not in VOID else f"<{name}{attrs}>")
            continue
        if name in VOID:
            out.append(f"<{name}{attrs}>")
        else:
            out.append(f"<{name}{attrs}>{_to_html(node.get('childNodes', []))}</{name}>")
    return "".join(out)


def preview_html(site, html: str, url: str = "") -> Preview:
    policy = policy_for_site(site, url)
    guard = PrivacyGuard(policy, per_selector=True)
    soup = BeautifulSoup(html, "html.parser")
    root: dict[str, Any] = {"type": 0, "id": 0, "childNodes": _to_nodes(soup, [0])}
    guard.check_events([{"type": FULL_SNAPSHOT, "data": {"node": root}}])
    page = _to_html(root["childNodes"])
    defaults = set(DEFAULT_MASK_INPUT) | set(DEFAULT_RESTRICT_SUBMIT)
    selectors = [s for group in policy["mask"].values() for s in group]
    selectors += [s for group in policy["restrict"].values() for s in group]
    unmatched = [s for s in dict.fromkeys(selectors) if s not in defaults and not guard.hits[s]]
    return Preview(
        html=f"<style>{AGENT_CSS}</style>{page}",
        masked=len(guard.masked),
        restricted=len(guard.restricted),
        unmatched=unmatched,
        matched={s: n for s, n in guard.hits.items() if n},
    )


class _DemoPageRequest(HttpRequest):
    """A GET for a demo page, on the host and scheme the administrator's own request came in on.

    Built by hand, not with Django's test RequestFactory: that one's host is `testserver`, which
    only a test run allows, so a real server answered the preview with DisallowedHost.
    """

    def __init__(self, request: HttpRequest, path: str):
        super().__init__()
        self.method = "GET"
        self.path = self.path_info = path
        self.META = {
            "REQUEST_METHOD": "GET",
            "HTTP_HOST": request.get_host(),  # already checked against ALLOWED_HOSTS
            "SERVER_PORT": request.get_port(),
        }
        self._scheme = request.scheme or "http"  # never None on a real request

    def _get_scheme(self) -> str:
        return self._scheme


def render_demo_page(request: HttpRequest, path: str, site) -> tuple[str, str]:
    """The demo shop's own HTML for a path, rendered in-process (no network)."""
    from django.urls import resolve

    allowed = {"/demo/", "/demo/checkout/", "/demo/account/", "/demo/privacy/", "/demo/products/"}
    if path not in allowed:
        return "", ""
    match = resolve(path)
    response = match.func(_DemoPageRequest(request, path), *match.args, **match.kwargs)
    origin = site.origins[0] if site.origins else "http://localhost"
    return response.content.decode(), origin + path
