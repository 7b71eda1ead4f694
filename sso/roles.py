"""Which co-browse roles a sign-in's claims give: the provider's group names, read from one claim,
against the names configured for each role. Plain code, no Django (tests/test_oidc.py)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Roles:
    agent: bool
    supervisor: bool


def claimed_groups(claims: Mapping[str, object], claim: str) -> set[str]:
    """The group names in `claim`: a list of strings or a single string (anything else counts as
    none). A dotted name that is not a claim itself is a path into nested objects, as Keycloak's
    `realm_access.roles`; a claim named by a URL (Auth0's namespaced claims) is found as it is."""
    if claim in claims:
        value = claims[claim]
    else:
        value = claims
        for part in claim.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return {value}
    if isinstance(value, list | tuple):
        return {item for item in value if isinstance(item, str)}
    return set()


def roles_for(
    groups: Iterable[str], *, agent_groups: Iterable[str], supervisor_groups: Iterable[str]
) -> Roles:
    """Names match exactly (case and spaces count), as the provider spells them."""
    held = set(groups)
    return Roles(
        agent=bool(held & set(agent_groups)), supervisor=bool(held & set(supervisor_groups))
    )
