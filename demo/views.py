"""A small fictional shop to try co-browsing on. Nothing submitted here is stored or logged."""

import json
import logging
import re
import secrets
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from demo.catalog import PRODUCTS, featured_products, get_product
from policies.models import Site

logger = logging.getLogger("demo.csp")

DEMO_SITE_NAME = "Demo shop"
CSP_REPORT_MAX_BYTES = 16_384
SAVED_MESSAGE = "Saved (demo: nothing is stored)"


def widget_context(request: HttpRequest) -> dict:
    """What `demo/_widget.html` needs: the demo site's key and where the widget script lives."""
    site = Site.objects.filter(name=DEMO_SITE_NAME).only("key").first()
    public_url = getattr(settings, "COBROWSE_PUBLIC_URL", "")
    if public_url:
        widget_url = public_url.rstrip("/") + "/static/cobrowse/widget.js"
    else:
        widget_url = request.build_absolute_uri("/static/cobrowse/widget.js")
    return {
        "demo_site_key": site.key if site else None,
        "cobrowse_widget_url": widget_url,
        **_languages(request),
    }


LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z]{2,4})?")
RIGHT_TO_LEFT = {"ar", "he", "fa", "ur"}


def _languages(request: HttpRequest) -> dict:
    """`?lang=de` serves the shop's page as German (<html lang>, dir for right-to-left scripts)
    and `?widget_lang=fr` puts data-lang on the embed tag: the demo's way to try the widget's
    languages. Anything that is not a language tag is ignored."""
    page = request.GET.get("lang", "")
    widget = request.GET.get("widget_lang", "")
    page = page if LANGUAGE_TAG.fullmatch(page) else "en"
    return {
        "page_lang": page,
        "page_dir": "rtl" if page.split("-")[0] in RIGHT_TO_LEFT else "ltr",
        "widget_lang": widget if LANGUAGE_TAG.fullmatch(widget) else "",
    }


def _render(request: HttpRequest, template: str, context: dict | None = None) -> HttpResponse:
    return render(request, template, {**widget_context(request), **(context or {})})


def _order_summary() -> dict:
    lines: list[dict[str, Any]] = [
        {"product": get_product("summit-tent"), "quantity": 1},
        {"product": get_product("steel-bottle"), "quantity": 2},
    ]
    for line in lines:
        line["total"] = line["product"]["price"] * line["quantity"]
    subtotal = sum((line["total"] for line in lines), Decimal("0"))
    shipping = Decimal("0.00")
    return {
        "lines": lines,
        "subtotal": subtotal,
        "shipping": shipping,
        "total": subtotal + shipping,
    }


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return _render(request, "demo/home.html", {"featured": featured_products()})


@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    return _render(request, "demo/product_list.html", {"products": PRODUCTS})


@require_GET
def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_product(slug)
    if product is None:
        raise Http404("No such product")
    return _render(request, "demo/product_detail.html", {"product": product})


@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    # On POST nothing is read, stored or logged: the demo only shows a confirmation.
    message = SAVED_MESSAGE if request.method == "POST" else None
    return _render(request, "demo/account.html", {"message": message})


@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    summary = _order_summary()
    if request.method == "POST":
        # Form values are deliberately ignored: never stored, never logged.
        return _render(request, "demo/order_placed.html", {"summary": summary})
    return _render(request, "demo/checkout.html", {"summary": summary})


@require_GET
def outside(request: HttpRequest) -> HttpResponse:
    # Stands for a partner's site: no widget, so no widget context either.
    return render(request, "demo/outside.html")


@require_GET
def privacy_lab(request: HttpRequest) -> HttpResponse:
    return _render(request, "demo/privacy_lab.html")


@require_GET
def hostile(request: HttpRequest) -> HttpResponse:
    # A test fixture: a page that attacks the agent who co-browses it. Linked from nowhere.
    return _render(request, "demo/hostile.html", {"huge": "A" * 200_000})


def strict_csp(*, nonce: str, widget_url: str) -> str:
    """The strict policy docs/integrations.md describes, plus the lines it tells integrators to add
    (connect-src for the co-browse server, over HTTPS and WebSocket)."""
    server = urlsplit(widget_url)
    ws_scheme = "wss" if server.scheme == "https" else "ws"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'nonce-{nonce}' 'strict-dynamic'",
            "style-src 'self'",
            f"connect-src 'self' {server.scheme}://{server.netloc} {ws_scheme}://{server.netloc}",
            "img-src 'self' data:",
            "require-trusted-types-for 'script'",
            "object-src 'none'",
            "base-uri 'none'",
            "report-uri /demo/csp-report/",
        ]
    )


@require_GET
def locker(request: HttpRequest) -> HttpResponse:
    # A test fixture: the checkout on a page that patches the DOM and globals. Linked from nowhere.
    return _render(request, "demo/locker.html", {"summary": _order_summary()})


@require_GET
def strict(request: HttpRequest) -> HttpResponse:
    """The checkout under a strict Content-Security-Policy with Trusted Types required."""
    nonce = secrets.token_urlsafe(18)
    context = {**widget_context(request), "summary": _order_summary(), "csp_nonce": nonce}
    response = render(request, "demo/strict.html", context)
    response["Content-Security-Policy"] = strict_csp(
        nonce=nonce, widget_url=context["cobrowse_widget_url"]
    )
    return response


@csrf_exempt
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    """Where the strict page's browser reports violations: logged, never stored."""
    if len(request.body) <= CSP_REPORT_MAX_BYTES:
        try:
            report = json.loads(request.body).get("csp-report", {})
        except (ValueError, AttributeError):
            report = {}
        if isinstance(report, dict) and report:
            logger.warning(
                "CSP violation on the demo's strict page: %s blocked %s",
                str(report.get("effective-directive", "?"))[:80],
                str(report.get("blocked-uri", "?"))[:200],
            )
    return HttpResponse(status=204)
