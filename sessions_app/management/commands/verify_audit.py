"""Verify sessions' audit chains: `verify_audit 123456789`, `verify_audit 42` or `--all`."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import ngettext

from sessions_app.models import (
    AuditEntry,
    CobrowseSession,
    PurgedSession,
    format_code,
    normalize_code,
)


class Command(BaseCommand):
    help = (
        "Verify the tamper-evident audit chain of a session (by its 9-digit ID or its database "
        "id) or of every session. Prints OK with the entry count and the latest hash, or the "
        "first broken entry; exits with status 1 if any chain is broken."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "session", nargs="?", help="A session ID (123 456 789) or a database id (42)."
        )
        parser.add_argument(
            "--all", action="store_true", dest="every", help="Verify every session's chain."
        )

    def handle(self, *args, session: str | None = None, every: bool = False, **options) -> None:
        if every == bool(session):
            raise CommandError("Give either a session ID or database id, or --all.")
        purged = PurgedSession.objects.none()
        if session:
            sessions, purged = self.find(session)
        else:
            sessions = CobrowseSession.objects.order_by("pk")
        for gone in purged.select_related("purge"):
            self.report_purged(gone)
        broken = checked = 0
        for item in sessions.iterator():
            checked += 1
            if not self.verify(item):
                broken += 1
        if broken:
            message = ngettext(
                "%(broken)d of %(checked)d audit chain broken.",
                "%(broken)d of %(checked)d audit chains broken.",
                checked,
            )
            raise CommandError(message % {"broken": broken, "checked": checked}, returncode=1)
        if every:
            message = ngettext(
                "The %(checked)d audit chain verifies.",
                "All %(checked)d audit chains verify.",
                checked,
            )
            self.stdout.write(message % {"checked": checked})
            if purged_count := PurgedSession.objects.count():
                # Purged whole, after their chains verified: nothing of them is left to check.
                message = ngettext(
                    "%(gone)d session was purged by retention (manage.py purge); its chain "
                    "verified when it was.",
                    "%(gone)d sessions were purged by retention (manage.py purge); their chains "
                    "verified when they were.",
                    purged_count,
                )
                self.stdout.write(message % {"gone": purged_count})

    def find(self, value: str):
        digits = normalize_code(value)
        if len(digits) == 9:
            # Codes come back once a session has ended and its record is gone; check each.
            sessions = CobrowseSession.objects.filter(code=digits).order_by("pk")
            purged = PurgedSession.objects.filter(code=digits)
        elif digits and digits == value.strip():
            sessions = CobrowseSession.objects.filter(pk=int(digits))
            purged = PurgedSession.objects.filter(session_id=int(digits))
        else:
            raise CommandError(f"{value!r} is neither a 9-digit session ID nor a database id.")
        if not sessions.exists() and not purged.exists():
            raise CommandError(f"No session has the ID or id {value!r}.")
        return sessions, purged.order_by("session_id")

    def report_purged(self, gone: PurgedSession) -> None:
        when = gone.purge.created.isoformat(timespec="seconds")
        if gone.last_hash:
            entries = ngettext("%(count)d entry", "%(count)d entries", gone.audit_entries)
            head = f"{entries % {'count': gone.audit_entries}}, latest hash {gone.last_hash}"
        else:
            head = "no audit entries"
        self.stdout.write(
            f"Session {format_code(gone.code)} (id {gone.session_id}): PURGED on {when} by "
            f"retention ({gone.purge.site_name}); its chain verified then: {head}"
        )

    def verify(self, session: CobrowseSession) -> bool:
        name = f"Session {session.code_display} (id {session.pk})"
        broken = AuditEntry.objects.first_broken(session.pk)
        if broken is not None:
            when = broken.created.isoformat(timespec="seconds")
            self.stderr.write(
                f"{name}: BROKEN at seq {broken.seq} ({broken.kind}, {when}): {broken.problem_text}"
            )
            return False
        tail = AuditEntry.objects.chain(session.pk).last()
        if tail is None:
            self.stdout.write(f"{name}: OK, no audit entries (started before the audit log?)")
        else:
            self.stdout.write(f"{name}: OK, {tail.seq} entries, latest hash {tail.hash}")
        return True
