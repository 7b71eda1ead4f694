import time
from typing import TypedDict
from urllib.parse import urlsplit

from policies.autocomplete import sensitive_selectors
from policies.guard import MASK, SAFE_ATTRS, SENSITIVE_ATTRS
from policies.models import Site, normalize_origin
from policies.urls import normalize_path


class _OriginCache(TypedDict):
    at: float
    origins: frozenset[str]


_ORIGIN_CACHE: _OriginCache = {"at": 0.0, "origins": frozenset()}
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
    return _ORIGIN_CACHE["origins"]


def forget_cached_origins() -> None:
    _ORIGIN_CACHE["at"] = 0.0


def origin_is_any_site(origin: str | None) -> bool:
    if not origin:
        return False
    try:
        return normalize_origin(origin) in all_site_origins()
    except ValueError:
        return False


# Secure defaults that no rule can turn off. The server is the only place that knows them: the
# widget receives them compiled, in the policy, and the guard applies the same lists.
DEFAULT_MASK_INPUT = [
    # `i`: HTML compares the type attribute's keywords without case (TYPE=Password).
    "input[type=password i]",
    "input[type=hidden i]",
    # Fields named like a password, for a "show password" switch the widget could not see
    # (it was flipped before the widget loaded).
    "input[name*=pass i]",
    "input[id*=pass i]",
    "input[name*=pwd i]",
    "input[id*=pwd i]",
    # Card, password and one-time-code fields in every spelling the HTML spec allows.
    *sensitive_selectors(),
]
# Every route to submitting a form: submit and image inputs, and buttons of a missing, empty or
# invalid type inside a form or pointing at one with form=. Reset routes too: they wipe what the
# customer typed. The guard also checks this in code.
_NOT_PLAIN_BUTTON = ":not([type=button i])"
DEFAULT_RESTRICT_SUBMIT = [
    "button[type=submit i]",
    "button[type=reset i]",
    "input[type=submit i]",
    "input[type=image i]",
    "input[type=reset i]",
    f"form button{_NOT_PLAIN_BUTTON}",
    f"button[form]{_NOT_PLAIN_BUTTON}",
]


def policy_for_site(site, url: str = "") -> dict:
    """The compiled policy for one page of a site: what the widget and the server guard apply."""
    from policies.models import MaskingRule, PolicyVersion, RestrictionRule

    mask: dict[str, list[str]] = {"input": list(DEFAULT_MASK_INPUT), "text": [], "block": []}
    restrict: dict[str, list[str]] = {
        "control": list(DEFAULT_RESTRICT_SUBMIT) if site.submit_restricted else [],
        "field": [],
    }
    # Same-origin frames show pages of other paths: in them every URL-scoped rule applies,
    # whatever its pattern (fail closed).
    frames: dict = {
        "mask": {"input": [], "text": [], "block": []},
        "restrict": {"control": [], "field": []},
    }
    for rule in MaskingRule.objects.for_site(site):
        if rule.applies_to(url):
            mask[rule.kind].append(rule.selector)
        elif rule.url_pattern:
            frames["mask"][rule.kind].append(rule.selector)
    for rule in RestrictionRule.objects.for_site(site):
        if rule.applies_to(url):
            restrict[rule.kind].append(rule.selector)
        elif rule.url_pattern:
            frames["restrict"][rule.kind].append(rule.selector)
    return {
        "version": PolicyVersion.current(),
        "site": site.key,
        "write_mode_enabled": site.write_mode_enabled,
        "submit_restricted": site.submit_restricted,
        "mask_reveals_length": getattr(site, "mask_reveals_length", False),
        # Query parameters that may stay in URLs the widget reports (all others are dropped).
        "kept_params": list(getattr(site, "kept_params", [])),
        # The path these rules were compiled for: the widget fetches again when it changes.
        "path": normalize_path(urlsplit(url).path or "/") if url else "",
        # Where the agent may navigate the customer in write mode.
        "origins": site.origins,
        "mask": mask,
        "restrict": restrict,
        "frames": frames,
        # What may pass on a masked element (everything else is dropped), and what passes as ****.
        "attributes": {"safe": sorted(SAFE_ATTRS), "sensitive": list(SENSITIVE_ATTRS)},
        "mask_text": MASK,
    }
