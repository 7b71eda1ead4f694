"""Operations of single sign-on. Keyword-only; atomic where they write."""

import hashlib
import logging
import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import IntegrityError, transaction
from django.utils import timezone

from sessions_app.models import AGENTS_GROUP, SUPERVISORS_GROUP
from sso.models import Identity
from sso.roles import Roles, claimed_groups, roles_for

logger = logging.getLogger("sso")

# What Django's username validator accepts, 150 characters at most.
_NOT_IN_USERNAMES = re.compile(r"[^\w.@+-]")


def identity_sign_in(*, issuer: str, claims: Mapping[str, Any]) -> User:
    """The user a provider's verified claims sign in as: found by issuer and `sub`, or created
    (without a usable password). Names and e-mail are refreshed and the roles set from the groups
    claim at every sign-in, so a group the provider no longer lists takes the role away. Never
    matches an existing user by username or e-mail: an administrator links those in admin."""
    subject = str(claims["sub"])
    try:
        with transaction.atomic():
            user = _sign_in(issuer=issuer, subject=subject, claims=claims)
    except IntegrityError:  # the same first sign-in in two tabs at once: the other one won
        with transaction.atomic():
            user = _sign_in(issuer=issuer, subject=subject, claims=claims)
    return user


def _sign_in(*, issuer: str, subject: str, claims: Mapping[str, Any]) -> User:
    identity = (
        Identity.objects.select_for_update()
        .select_related("user")
        .filter(issuer=issuer, subject=subject)
        .first()
    )
    if identity is None:
        user = User.objects.create_user(_free_username(claims, issuer=issuer, subject=subject))
        identity = Identity.objects.create(user=user, issuer=issuer, subject=subject)
        logger.info("single sign-on: new user %s for a provider account", user.username)
    user = identity.user
    for field, claim in (("first_name", "given_name"), ("last_name", "family_name")):
        if isinstance(claims.get(claim), str):
            setattr(user, field, claims[claim][:150])
    if isinstance(claims.get("email"), str) and len(claims["email"]) <= 254:
        user.email = claims["email"]
    user.save(update_fields=["first_name", "last_name", "email"])
    identity.last_sign_in = timezone.now()
    identity.save(update_fields=["last_sign_in"])
    roles = roles_for(
        claimed_groups(claims, settings.OIDC_GROUPS_CLAIM),
        agent_groups=settings.OIDC_AGENT_GROUPS,
        supervisor_groups=settings.OIDC_SUPERVISOR_GROUPS,
    )
    user_set_roles(user=user, roles=roles)
    return user


def user_set_roles(*, user: User, roles: Roles) -> None:
    """Put the user in, or take them out of, Agents and Supervisors; other groups are left."""
    for name, wanted in ((AGENTS_GROUP, roles.agent), (SUPERVISORS_GROUP, roles.supervisor)):
        group, _ = Group.objects.get_or_create(name=name)
        if wanted:
            user.groups.add(group)
        else:
            user.groups.remove(group)


def _free_username(claims: Mapping[str, Any], *, issuer: str, subject: str) -> str:
    """The username claim made valid, or `sso-<hash>` without one. Taken by another user (a
    password account, or another provider account): a suffix from the hash, never that user."""
    digest = hashlib.sha256(f"{issuer} {subject}".encode()).hexdigest()
    wanted = claims.get(settings.OIDC_USERNAME_CLAIM)
    base = _NOT_IN_USERNAMES.sub("", wanted)[:120] if isinstance(wanted, str) else ""
    candidates = [base] if base else []
    candidates += [f"{base or 'sso'}-{digest[:n]}" for n in (6, 12, 24)]
    for candidate in candidates:
        if not User.objects.filter(username__iexact=candidate).exists():
            return candidate
    return f"sso-{digest[:64]}"
