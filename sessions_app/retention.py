"""Retention: the purge of what each site keeps no longer, and the data-subject export.

The purge deletes whole ended sessions (their audit entries first, then the session with its agent
actions), so every chain that remains is complete and `verify_audit` still verifies it; each
purged session leaves a `PurgedSession` row with the head of its chain, which `verify_audit` and
the export report as purged. A session whose chain does not verify is never purged: it is
evidence, and the purge reports it.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils import timezone

from policies.models import PrivacyAlert, Site
from sessions_app.models import (
    AgentAction,
    AuditEntry,
    ChatMessage,
    CobrowseSession,
    Interaction,
    Purge,
    PurgedSession,
    format_code,
    normalize_code,
)

EXPORT_FORMAT = "cobrowse-subject-export"
EXPORT_VERSION = 1
BATCH = 500  # sessions, chats or alerts deleted per transaction
NO_SITE = "Calls without a site"


# The purge


@dataclass
class BrokenChain:
    session_id: int
    code: str
    seq: int
    problem: str

    def __str__(self) -> str:
        return (
            f"session {format_code(self.code)} (id {self.session_id}) was kept: its audit chain "
            f"is broken at seq {self.seq} ({self.problem})"
        )


@dataclass
class PurgeResult:
    """What one site's purge deleted (or, in a dry run, would delete)."""

    site: Site | None
    sessions_ended_before: datetime | None
    chats_ended_before: datetime | None
    alerts_raised_before: datetime | None
    sessions: int = 0
    audit_entries: int = 0
    agent_actions: int = 0
    chats: int = 0
    chat_messages: int = 0
    privacy_alerts: int = 0
    broken: list[BrokenChain] = field(default_factory=list)
    record: Purge | None = None

    @property
    def site_name(self) -> str:
        return self.site.name if self.site else NO_SITE

    @property
    def deleted_anything(self) -> bool:
        return bool(self.sessions or self.chats or self.privacy_alerts)

    def counts(self) -> dict[str, int]:
        return {
            "sessions": self.sessions,
            "audit_entries": self.audit_entries,
            "agent_actions": self.agent_actions,
            "chats": self.chats,
            "chat_messages": self.chat_messages,
            "privacy_alerts": self.privacy_alerts,
        }


def retention_cutoff(days: int | None, now: datetime) -> datetime | None:
    """What ended (or was raised) before this is past a retention of `days`; None: kept forever."""
    return None if days is None else now - timedelta(days=days)


def call_retention_days() -> int | None:
    """Calls have no site: they are kept as long as the most lenient site keeps chats."""
    days = list(Site.objects.values_list("chat_retention_days", flat=True))
    if not days or None in days:
        return None
    return max(d for d in days if d is not None)


def retention_purge(
    *, now: datetime | None = None, dry_run: bool = False, sites: Iterable[Site] | None = None
) -> list[PurgeResult]:
    """Delete, site by site, what is past the site's retention; record each site's purge.

    `sites` limits the run to those sites (calls without a site are purged only when it is None).
    A dry run counts what would go and changes nothing.
    """
    now = now or timezone.now()
    results = []
    for site in sites if sites is not None else Site.objects.order_by("pk"):
        result = PurgeResult(
            site=site,
            sessions_ended_before=retention_cutoff(site.session_retention_days, now),
            chats_ended_before=retention_cutoff(site.chat_retention_days, now),
            alerts_raised_before=retention_cutoff(site.alert_retention_days, now),
        )
        _purge_alerts(result, dry_run=dry_run)
        _purge_sessions(result, dry_run=dry_run)
        _purge_interactions(result, Q(site=site), dry_run=dry_run)
        results.append(result)
    if sites is None:
        calls = PurgeResult(
            site=None,
            sessions_ended_before=None,
            chats_ended_before=retention_cutoff(call_retention_days(), now),
            alerts_raised_before=None,
        )
        _purge_interactions(calls, Q(site__isnull=True), dry_run=dry_run)
        results.append(calls)
    return results


def _record(result: PurgeResult, **deleted: int) -> None:
    """Add to the site's purge record, in the transaction of the deletion it counts."""
    if result.record is None:
        result.record = Purge.objects.create(
            site=result.site,
            site_name=result.site_name,
            sessions_ended_before=result.sessions_ended_before,
            chats_ended_before=result.chats_ended_before,
            alerts_raised_before=result.alerts_raised_before,
        )
    Purge.objects.filter(pk=result.record.pk).update(
        **{name: F(name) + count for name, count in deleted.items()}
    )


def _purge_alerts(result: PurgeResult, *, dry_run: bool) -> None:
    if result.alerts_raised_before is None:
        return
    # Served by the index on (site, created).
    due = PrivacyAlert.objects.filter(site=result.site, created__lt=result.alerts_raised_before)
    if dry_run:
        result.privacy_alerts = due.count()
        return
    while ids := list(due.order_by("pk").values_list("pk", flat=True)[:BATCH]):
        with transaction.atomic():
            deleted, _ = PrivacyAlert.objects.filter(pk__in=ids).delete()
            _record(result, privacy_alerts=deleted)
        result.privacy_alerts += deleted


def _purge_sessions(result: PurgeResult, *, dry_run: bool) -> None:
    if result.sessions_ended_before is None:
        return
    # Served by the index on (site, ended_at); live sessions never have an end.
    due = CobrowseSession.objects.filter(
        site=result.site,
        status=CobrowseSession.Status.ENDED,
        ended_at__lt=result.sessions_ended_before,
    ).annotate(
        entry_count=Count("audit_entries", distinct=True),
        last_hash=Subquery(
            AuditEntry.objects.filter(session=OuterRef("pk")).order_by("-seq").values("hash")[:1]
        ),
    )
    after = 0
    while batch := list(due.filter(pk__gt=after).order_by("pk")[:BATCH]):
        after = batch[-1].pk
        kept = []
        for session in batch:
            broken = AuditEntry.objects.first_broken(session.pk)
            if broken is None:
                kept.append(session)
            else:
                result.broken.append(
                    BrokenChain(session.pk, session.code, broken.seq, broken.problem_text)
                )
        if not kept:
            continue
        ids = [session.pk for session in kept]
        if dry_run:
            result.sessions += len(ids)
            result.audit_entries += sum(session.entry_count for session in kept)
            result.agent_actions += AgentAction.objects.filter(session_id__in=ids).count()
            continue
        with transaction.atomic():
            entries, _ = AuditEntry.objects.filter(session_id__in=ids).delete()
            _, by_model = CobrowseSession.objects.filter(pk__in=ids).delete()
            sessions = by_model.get(CobrowseSession._meta.label, 0)
            actions = by_model.get(AgentAction._meta.label, 0)
            _record(result, sessions=sessions, audit_entries=entries, agent_actions=actions)
            assert result.record is not None
            PurgedSession.objects.bulk_create(
                PurgedSession(
                    purge=result.record,
                    session_id=session.pk,
                    code=session.code,
                    created=session.created,
                    ended_at=session.ended_at,
                    audit_entries=session.entry_count,
                    last_hash=session.last_hash or "",
                )
                for session in kept
            )
        result.sessions += sessions
        result.audit_entries += entries
        result.agent_actions += actions


def _purge_interactions(result: PurgeResult, where: Q, *, dry_run: bool) -> None:
    if result.chats_ended_before is None:
        return
    # Served by the index on (site, ended_at); live chats and calls never have an end.
    due = Interaction.objects.filter(
        where, status=Interaction.Status.ENDED, ended_at__lt=result.chats_ended_before
    )
    if dry_run:
        result.chats = due.count()
        result.chat_messages = ChatMessage.objects.filter(interaction__in=due).count()
        return
    while ids := list(due.order_by("pk").values_list("pk", flat=True)[:BATCH]):
        with transaction.atomic():
            _, by_model = Interaction.objects.filter(pk__in=ids).delete()
            chats = by_model.get(Interaction._meta.label, 0)
            messages = by_model.get(ChatMessage._meta.label, 0)
            _record(result, chats=chats, chat_messages=messages)
        result.chats += chats
        result.chat_messages += messages


# The data-subject export


class NotFound(Exception):
    pass


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _session_export(session: CobrowseSession) -> dict:
    return {
        "id": session.pk,
        "code": session.code,
        "site": session.site.name,
        "status": session.status,
        "mode": session.mode,
        "agent": session.agent.get_username() if session.agent else None,
        "interaction": session.interaction_id,
        "current_url": session.current_url,
        "viewport": {"width": session.viewport_width, "height": session.viewport_height}
        if session.viewport_width and session.viewport_height
        else None,
        "created": _iso(session.created),
        "joined_at": _iso(session.joined_at),
        "paused_at": _iso(session.paused_at),
        "ended_at": _iso(session.ended_at),
        "end_reason": session.end_reason,
        "policy_version": session.policy_version,
        "audit_entries": [
            {
                "seq": entry.seq,
                "created": _iso(entry.created),
                "actor": entry.actor,
                "kind": entry.kind,
                "detail": entry.detail,
                "prev_hash": entry.prev_hash,
                "hash": entry.hash,
            }
            for entry in AuditEntry.objects.chain(session.pk)
        ],
        "agent_actions": [
            {
                "created": _iso(action.created),
                "agent": action.agent.get_username() if action.agent else None,
                "kind": action.kind,
                "target": action.target,
                "node_id": action.node_id,
                "detail": action.detail,
                "url": action.url,
            }
            for action in session.actions.select_related("agent").order_by("created", "pk")
        ],
        "privacy_alerts": [
            {
                "created": _iso(alert.created),
                "kind": alert.kind,
                "node_id": alert.node_id,
                "selector": alert.selector,
                "url": alert.url,
            }
            for alert in session.privacy_alerts.order_by("created", "pk")
        ],
    }


def _interaction_export(interaction: Interaction) -> dict:
    return {
        "id": interaction.pk,
        "channel": interaction.channel,
        "status": interaction.status,
        "site": interaction.site.name if interaction.site else None,
        "customer_name": interaction.customer_name,
        "external_id": interaction.external_id,
        "agent": interaction.agent.get_username() if interaction.agent else None,
        "created": _iso(interaction.created),
        "accepted_at": _iso(interaction.accepted_at),
        "ended_at": _iso(interaction.ended_at),
        "ended_by": interaction.ended_by,
        "sessions": sorted(interaction.cobrowse_sessions.values_list("pk", flat=True)),
        "messages": [
            {
                "created": _iso(message.created),
                "sender": message.sender,
                "text": message.text,
                "cobrowse_code": message.cobrowse_code,
            }
            for message in interaction.messages.order_by("created", "pk")
        ],
    }


def subject_export(
    *,
    codes: Iterable[str] = (),
    chat_ids: Iterable[int] = (),
    sessions: Iterable[CobrowseSession] = (),
    interactions: Iterable[Interaction] = (),
    now: datetime | None = None,
) -> dict:
    """Everything stored about one customer's co-browse sessions and chats, as JSON-ready data.

    Sessions come by their 9-digit ID (or as objects), chats and calls by id (or as objects).
    The chat or call a session belongs to comes with it, and a chat's sessions with the chat.
    A session ID the purge removed is listed under `purged_sessions`; an ID or id that matches
    nothing at all raises NotFound.
    """
    session_ids = {s.pk for s in sessions}
    interaction_ids = {i.pk for i in interactions}
    purged = []
    for raw in codes:
        code = normalize_code(raw)
        if len(code) != 9:
            raise NotFound(f"{raw!r} is not a 9-digit session ID.")
        found = set(CobrowseSession.objects.filter(code=code).values_list("pk", flat=True))
        gone = list(PurgedSession.objects.filter(code=code).select_related("purge"))
        if not found and not gone:
            raise NotFound(f"No session, kept or purged, has the ID {format_code(code)}.")
        session_ids |= found
        purged += gone
    for chat_id in chat_ids:
        if not Interaction.objects.filter(pk=chat_id).exists():
            raise NotFound(f"No chat or call has the id {chat_id}.")
        interaction_ids.add(chat_id)
    # The same customer: a session's chat or call, and a chat's or call's sessions.
    interaction_ids |= set(
        CobrowseSession.objects.filter(pk__in=session_ids, interaction__isnull=False).values_list(
            "interaction_id", flat=True
        )
    )
    session_ids |= set(
        CobrowseSession.objects.filter(interaction_id__in=interaction_ids).values_list(
            "pk", flat=True
        )
    )
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": _iso(now or timezone.now()),
        "sessions": [
            _session_export(session)
            for session in CobrowseSession.objects.filter(pk__in=session_ids)
            .select_related("site", "agent")
            .order_by("pk")
        ],
        "interactions": [
            _interaction_export(interaction)
            for interaction in Interaction.objects.filter(pk__in=interaction_ids)
            .select_related("site", "agent")
            .order_by("pk")
        ],
        "purged_sessions": [
            {
                "id": gone.session_id,
                "code": gone.code,
                "created": _iso(gone.created),
                "ended_at": _iso(gone.ended_at),
                "purged_at": _iso(gone.purge.created),
            }
            for gone in sorted(purged, key=lambda gone: gone.session_id)
        ],
    }
