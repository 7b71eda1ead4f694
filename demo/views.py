"""A small fictional shop to try co-browsing on. Nothing submitted here is stored or logged."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from demo.catalog import PRODUCTS, featured_products, get_product
from policies.models import Site

DEMO_SITE_NAME = "Demo shop"
SAVED_MESSAGE = "Saved (demo: nothing is stored)"


def widget_context(request: HttpRequest) -> dict:
    """What `demo/_widget.html` needs: the demo site's key and where the widget script lives."""
    site = Site.objects.filter(name=DEMO_SITE_NAME).only("key").first()
    public_url = getattr(settings, "COBROWSE_PUBLIC_URL", "")
    if public_url:
        widget_url = public_url.rstrip("/") + "/static/cobrowse/widget.js"
    else:
        widget_url = request.build_absolute_uri("/static/cobrowse/widget.js")
    return {"demo_site_key": site.key if site else None, "cobrowse_widget_url": widget_url}


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
