"""Delete what each site keeps no longer: `purge`, `purge --dry-run`, `purge --loop`."""

import logging
import time
from typing import NoReturn

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils.translation import ngettext

from policies.models import Site
from sessions_app.retention import PurgeResult, retention_purge

DAY = 24 * 60 * 60
log = logging.getLogger("cobrowse.retention")


def counted(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def summary(result: PurgeResult, *, dry_run: bool) -> str:
    verb = "would delete" if dry_run else "deleted"
    parts = []
    if result.sessions_ended_before is not None:
        parts.append(
            f"{counted(result.sessions, 'session', 'sessions')} ended before "
            f"{result.sessions_ended_before:%Y-%m-%d %H:%M} UTC "
            f"({counted(result.audit_entries, 'audit entry', 'audit entries')}, "
            f"{counted(result.agent_actions, 'agent action', 'agent actions')})"
        )
    if result.chats_ended_before is not None:
        parts.append(
            f"{counted(result.chats, 'chat or call', 'chats and calls')} ended before "
            f"{result.chats_ended_before:%Y-%m-%d %H:%M} UTC "
            f"({counted(result.chat_messages, 'message', 'messages')})"
        )
    if result.alerts_raised_before is not None:
        parts.append(
            f"{counted(result.privacy_alerts, 'privacy alert', 'privacy alerts')} raised before "
            f"{result.alerts_raised_before:%Y-%m-%d %H:%M} UTC"
        )
    if not parts:
        return f"{result.site_name}: keeps everything forever."
    return f"{result.site_name}: {verb} " + "; ".join(parts) + "."


class Command(BaseCommand):
    help = (
        "Delete ended sessions (with their audit entries and agent actions), ended chats and "
        "privacy alerts older than each site's retention, and record each site's purge. A "
        "session whose audit chain does not verify is kept and reported (exit status 1)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be deleted; delete nothing."
        )
        parser.add_argument(
            "--site",
            action="append",
            dest="sites",
            metavar="NAME_OR_KEY",
            help="Purge only this site (repeatable). Default: every site, and calls without one.",
        )
        parser.add_argument(
            "--loop",
            action="store_true",
            help="Keep running: purge, then again every --interval seconds (default a day).",
        )
        parser.add_argument("--interval", type=int, default=DAY, help=f"Default {DAY}.")

    def handle(self, *args, dry_run=False, sites=None, loop=False, interval=DAY, **options):
        if interval < 1:
            raise CommandError("--interval is a number of seconds, at least 1.")
        chosen = [self.find_site(value) for value in sites] if sites else None
        if loop:
            self.loop(dry_run=dry_run, sites=chosen, interval=interval)
        broken = self.run_once(dry_run=dry_run, sites=chosen)
        if broken:
            raise CommandError(
                ngettext(
                    "%(count)d session was kept because its audit chain does not verify.",
                    "%(count)d sessions were kept because their audit chains do not verify.",
                    broken,
                )
                % {"count": broken},
                returncode=1,
            )

    def loop(self, *, dry_run: bool, sites: list[Site] | None, interval: int) -> NoReturn:
        while True:
            # A failed run (the database away) is logged and tried again at the next interval.
            try:
                self.run_once(dry_run=dry_run, sites=sites)
            except Exception:
                log.exception("purge failed; next attempt in %s s", interval)
            close_old_connections()
            time.sleep(interval)

    def run_once(self, *, dry_run: bool, sites: list[Site] | None) -> int:
        broken = 0
        if sites is not None:  # as they are now: an administrator may have changed them
            sites = list(Site.objects.filter(pk__in=[site.pk for site in sites]).order_by("pk"))
        for result in retention_purge(dry_run=dry_run, sites=sites):
            self.stdout.write(summary(result, dry_run=dry_run))
            for chain in result.broken:
                self.stderr.write(f"{result.site_name}: {chain}; investigate it.")
            broken += len(result.broken)
        self.stdout.flush()
        return broken

    def find_site(self, value: str) -> Site:
        site = Site.objects.filter(name=value).first() or Site.objects.filter(key=value).first()
        if site is None:
            raise CommandError(f"No site has the name or key {value!r}.")
        return site
