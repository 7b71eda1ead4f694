"""Demo users, groups and the "Demo shop" site. Idempotent: run it as often as you like."""

from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from policies.models import MaskingRule, RestrictionRule, Site, normalize_origin
from sessions_app.models import AGENTS_GROUP, SUPERVISORS_GROUP

DEMO_SITE_NAME = "Demo shop"
DEFAULT_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000"]
# One machine's two names for itself: the demo serves the shop on one and the workspace on the other.
LOOPBACK_NAMES = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}

# username, password, first name, last name, group (None: superuser), role shown in the summary
DEMO_USERS = [
    ("admin", "admin-demo-pass", "", "", None, "administrator (staff, superuser)"),
    ("agent1", "agent1-demo-pass", "Alice", "Agent", AGENTS_GROUP, "agent"),
    ("agent2", "agent2-demo-pass", "Bob", "Agent", AGENTS_GROUP, "agent"),
    ("supervisor", "supervisor-demo-pass", "Sam", "Supervisor", SUPERVISORS_GROUP, "supervisor"),
]


def agent_origin(origins: list[str]) -> str:
    """Where the demo's staff pages are opened: on another host name than the shop (origins[0]).

    The customer and the agent then have separate cookies and storage, as on two real sites:
    another listed origin on a different host name, else the other of 127.0.0.1 and localhost.
    """
    shop = urlsplit(origins[0])
    for origin in origins[1:]:
        if urlsplit(origin).hostname != shop.hostname:
            return origin
    other = LOOPBACK_NAMES.get(shop.hostname or "")
    if other is None:
        return origins[0]  # the only host name we know of
    return f"{shop.scheme}://{other}" + (f":{shop.port}" if shop.port else "")


class Command(BaseCommand):
    help = (
        "Create or update the demo users (admin, agent1, agent2, supervisor), the Agents and "
        "Supervisors groups and the 'Demo shop' site. Safe to run many times."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--origin",
            action="append",
            dest="origins",
            metavar="ORIGIN",
            help=(
                "An origin the demo shop is served from (repeatable). The shop's link uses the "
                "first; the workspace's and admin's use another host name (separate cookies). "
                f"Default: {' and '.join(DEFAULT_ORIGINS)}."
            ),
        )

    def handle(self, *args, **options) -> None:
        origins = self._origins(options.get("origins") or DEFAULT_ORIGINS)
        with transaction.atomic():
            groups = {
                name: Group.objects.get_or_create(name=name)[0]
                for name in (AGENTS_GROUP, SUPERVISORS_GROUP)
            }
            for username, password, first, last, group, _role in DEMO_USERS:
                self._user(username, password, first, last, groups.get(group) if group else None)
            site, created = self._site(origins)
            token = self._telephony()
        self._summary(site, created, origins)
        self.stdout.write(
            f"  Telephony integration: user 'telephony', API token {token}\n"
            "    (POST /api/v1/interactions/ with 'Authorization: Token <token>')"
        )

    def _origins(self, values: list[str]) -> list[str]:
        result = []
        for value in values:
            try:
                result.append(normalize_origin(value))
            except ValueError as e:
                raise CommandError(f"Bad --origin: {e}") from None
        return list(dict.fromkeys(result))

    def _user(self, username: str, password: str, first: str, last: str, group) -> None:
        User = get_user_model()
        user, _ = User.objects.get_or_create(username=username)
        user.first_name = first
        user.last_name = last
        user.is_active = True
        if group is None:
            user.is_staff = True
            user.is_superuser = True
        user.set_password(password)
        user.save()
        if group is not None:
            user.groups.add(group)

    def _telephony(self) -> str:
        """An integration user that reports voice calls through the REST API."""
        from django.contrib.auth.models import Permission
        from rest_framework.authtoken.models import Token

        user, _ = get_user_model().objects.get_or_create(username="telephony")
        user.set_unusable_password()
        user.save()
        user.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="sessions_app",
                codename__in=["add_interaction", "change_interaction"],
            )
        )
        return Token.objects.get_or_create(user=user)[0].key

    def _site(self, origins: list[str]) -> tuple[Site, bool]:
        site = Site.objects.filter(name=DEMO_SITE_NAME).first()
        if site is None:
            site = Site(name=DEMO_SITE_NAME, write_mode_enabled=True, submit_restricted=True)
            created = True
        else:
            created = False  # the key is never touched: embed tags already out there keep working
        site.allowed_origins = "\n".join(origins)
        site.save()
        self._rules(site)
        return site, created

    def _rules(self, site: Site) -> None:
        """Sensible demo rules (on top of the secure defaults every site has)."""
        masks = [
            (".private-input", MaskingRule.Kind.INPUT, "", "Privacy lab fields"),
            (".private-text", MaskingRule.Kind.TEXT, "", "Text marked private"),
            ("img.private-image", MaskingRule.Kind.BLOCK, "", "Images of documents"),
            ("#phone", MaskingRule.Kind.INPUT, "/demo/account/*", "Phone numbers"),
        ]
        for selector, kind, pattern, description in masks:
            MaskingRule.objects.update_or_create(
                site=site,
                selector=selector,
                defaults={"kind": kind, "url_pattern": pattern, "description": description},
            )
        restrictions = [
            (".restricted-control", RestrictionRule.Kind.CONTROL, "Irreversible actions"),
            (".restricted-field", RestrictionRule.Kind.FIELD, "Fields only the customer fills"),
        ]
        for selector, restriction_kind, description in restrictions:
            RestrictionRule.objects.update_or_create(
                site=site,
                selector=selector,
                defaults={"kind": restriction_kind, "description": description},
            )

    def _summary(self, site: Site, created: bool, origins: list[str]) -> None:
        shop = origins[0]
        staff = agent_origin(origins)
        out = self.stdout
        out.write(self.style.SUCCESS("Demo data is ready."))
        out.write("")
        out.write(f"Site '{site.name}' {'created' if created else 'updated'}: key {site.key}")
        out.write(f"  allowed origins: {', '.join(origins)}")
        out.write("")
        links = [
            ("Workspace", f"{staff}/workspace/"),
            ("Demo shop", f"{shop}/demo/"),
            ("Admin", f"{staff}/admin/"),
        ]
        width = max(len(name) for name, _ in links)
        for name, url in links:
            out.write(f"  {name.ljust(width)}  {url}")
        if staff != shop:
            out.write("  (two host names: the customer and the agent have separate cookies)")
        out.write("")
        rows = [("User", "Password", "Role")] + [(u, p, role) for u, p, *_, role in DEMO_USERS]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for i, (user, password, role) in enumerate(rows):
            out.write(f"  {user.ljust(widths[0])}  {password.ljust(widths[1])}  {role}")
            if i == 0:
                out.write(f"  {'-' * widths[0]}  {'-' * widths[1]}  {'-' * widths[2]}")
