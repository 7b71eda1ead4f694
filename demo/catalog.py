"""The demo shop's products: a fixed list, nothing in the database."""

from decimal import Decimal
from typing import TypedDict


class Product(TypedDict):
    slug: str
    name: str
    price: Decimal
    image: str
    tagline: str
    description: str
    featured: bool


PRODUCTS: list[Product] = [
    {
        "slug": "summit-tent",
        "name": "Summit 2 Tent",
        "price": Decimal("289.00"),
        "image": "demo/img/tent.svg",
        "tagline": "Two-person, three-season, 2.1 kg.",
        "description": (
            "A freestanding two-person tent with two doors and two vestibules. "
            "Colour-coded poles pitch it in under five minutes, and the fly goes up first "
            "when the weather turns."
        ),
        "featured": True,
    },
    {
        "slug": "ridge-backpack",
        "name": "Ridge 45 Backpack",
        "price": Decimal("159.00"),
        "image": "demo/img/backpack.svg",
        "tagline": "45 litres, adjustable back, rain cover included.",
        "description": (
            "A light, roomy pack for long weekends. The back length adjusts in seconds, "
            "the hip belt has two zipped pockets, and a rain cover lives in the lid."
        ),
        "featured": True,
    },
    {
        "slug": "trail-boots",
        "name": "Trailhead Boots",
        "price": Decimal("135.00"),
        "image": "demo/img/boots.svg",
        "tagline": "Waterproof leather, grippy sole.",
        "description": (
            "Mid-height hiking boots with a waterproof membrane and a lugged rubber sole. "
            "Comfortable out of the box; even better after the first hundred kilometres."
        ),
        "featured": True,
    },
    {
        "slug": "storm-jacket",
        "name": "Storm Shell Jacket",
        "price": Decimal("199.00"),
        "image": "demo/img/jacket.svg",
        "tagline": "3-layer waterproof, packs into its pocket.",
        "description": (
            "A breathable three-layer shell with pit zips and a helmet-compatible hood. "
            "It packs into its own chest pocket when the sun comes out."
        ),
        "featured": False,
    },
    {
        "slug": "camp-lantern",
        "name": "Glow Camp Lantern",
        "price": Decimal("39.00"),
        "image": "demo/img/lantern.svg",
        "tagline": "USB rechargeable, 300 lumens.",
        "description": (
            "A warm, dimmable lantern that lasts three nights on one charge and doubles "
            "as a power bank for your phone."
        ),
        "featured": False,
    },
    {
        "slug": "steel-bottle",
        "name": "Insulated Steel Bottle",
        "price": Decimal("29.00"),
        "image": "demo/img/bottle.svg",
        "tagline": "750 ml, cold for 24 hours.",
        "description": (
            "Double-walled stainless steel keeps water cold for a day and tea hot for "
            "twelve hours. Leak-proof lid, fits most cup holders."
        ),
        "featured": False,
    },
]


def get_product(slug: str) -> Product | None:
    return next((p for p in PRODUCTS if p["slug"] == slug), None)


def featured_products() -> list[Product]:
    return [p for p in PRODUCTS if p["featured"]]
