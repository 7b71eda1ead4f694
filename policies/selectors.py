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


# Secure defaults that no rule can turn off.
DEFAULT_MASK_INPUT = [
    "input[type=password]",
    "input[type=hidden]",
    'input[autocomplete^="cc-"]',
    'input[autocomplete*=" cc-"]',
    'input[autocomplete="one-time-code"]',
    'input[autocomplete="new-password"]',
    '[autocomplete^="cc-"]',
]
DEFAULT_RESTRICT_SUBMIT = [
    "button[type=submit]",
    "input[type=submit]",
    "input[type=image]",
    "form button:not([type])",
]


def policy_for_site(site, url: str = "") -> dict:
    """The compiled policy for one page of a site: what the widget and the server guard apply."""
    from policies.models import MaskingRule, PolicyVersion, RestrictionRule

    mask: dict[str, list[str]] = {"input": list(DEFAULT_MASK_INPUT), "text": [], "block": []}
    restrict: dict[str, list[str]] = {
        "control": list(DEFAULT_RESTRICT_SUBMIT) if site.submit_restricted else [],
        "field": [],
    }
    for rule in MaskingRule.objects.for_site(site):
        if rule.applies_to(url):
            mask[rule.kind].append(rule.selector)
    for rule in RestrictionRule.objects.for_site(site):
        if rule.applies_to(url):
            restrict[rule.kind].append(rule.selector)
    return {
        "version": PolicyVersion.current(),
        "site": site.key,
        "write_mode_enabled": site.write_mode_enabled,
        "submit_restricted": site.submit_restricted,
        # Where the agent may navigate the customer in write mode.
        "origins": site.origins,
        "mask": mask,
        "restrict": restrict,
    }
