import time

from policies.models import Site, normalize_origin

_ORIGIN_CACHE: dict[str, object] = {"at": 0.0, "origins": frozenset()}
ORIGIN_CACHE_SECONDS = 5.0


def site_for_key(key: str) -> Site | None:
    return Site.objects.filter(key=key).first() if key else None


def all_site_origins() -> frozenset[str]:
    """Every origin any site allows; cached briefly because every widget handshake asks."""
    now = time.monotonic()
    if now - _ORIGIN_CACHE["at"] > ORIGIN_CACHE_SECONDS:
        origins = set()
        for site in Site.objects.only("allowed_origins"):
            origins.update(site.origins)
        _ORIGIN_CACHE["origins"] = frozenset(origins)
        _ORIGIN_CACHE["at"] = now
    return _ORIGIN_CACHE["origins"]  # type: ignore[return-value]


def forget_cached_origins() -> None:
    _ORIGIN_CACHE["at"] = 0.0


def origin_is_any_site(origin: str | None) -> bool:
    if not origin:
        return False
    try:
        return normalize_origin(origin) in all_site_origins()
    except ValueError:
        return False
