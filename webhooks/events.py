"""The events webhooks carry, and what each one says.

A payload holds what the audit log holds and no more: the session's code, the site, times, the
agent's username, the mode, the end reason and duration, counts. Never a page URL, a query string,
anything typed, a chat message or a customer's name.
"""

from datetime import datetime
from typing import Any

from sessions_app.models import AuditEntry, CobrowseSession, Interaction

SESSION_CREATED = "session.created"
SESSION_JOINED = "session.joined"
SESSION_MODE_CHANGED = "session.mode_changed"
SESSION_PAUSED = "session.paused"
SESSION_RESUMED = "session.resumed"
SESSION_ENDED = "session.ended"
WRITE_MODE_REQUESTED = "write_mode.requested"
WRITE_MODE_APPROVED = "write_mode.approved"
WRITE_MODE_DENIED = "write_mode.denied"
INTERACTION_STARTED = "interaction.started"
INTERACTION_ACCEPTED = "interaction.accepted"
INTERACTION_ENDED = "interaction.ended"
PRIVACY_ALERT = "privacy.alert"
# Sent by the admin's "Send a test event" action only; no endpoint subscribes to it.
TEST = "webhook.test"

# What an administrator can subscribe an endpoint to, in the order the admin lists them.
CHOICES = [
    (SESSION_CREATED, "Session created (the customer clicked Start Co-browse)"),
    (SESSION_JOINED, "Session joined by an agent"),
    (SESSION_MODE_CHANGED, "Mode changed (pointer or write)"),
    (SESSION_PAUSED, "Session paused (the customer left the site)"),
    (SESSION_RESUMED, "Session resumed"),
    (SESSION_ENDED, "Session ended (with reason and duration)"),
    (WRITE_MODE_REQUESTED, "Write mode requested by the agent"),
    (WRITE_MODE_APPROVED, "Write mode approved by the customer"),
    (WRITE_MODE_DENIED, "Write mode denied by the customer"),
    (INTERACTION_STARTED, "Chat or call started"),
    (INTERACTION_ACCEPTED, "Chat accepted by an agent"),
    (INTERACTION_ENDED, "Chat or call ended"),
    (PRIVACY_ALERT, "Privacy alert (the server scrubbed what the page should have masked)"),
]
NAMES = [name for name, _ in CHOICES]

Kind = AuditEntry.Kind
_BY_KIND: dict[str, str] = {
    Kind.CREATED: SESSION_CREATED,
    Kind.JOINED: SESSION_JOINED,
    Kind.PAUSED: SESSION_PAUSED,
    Kind.WRITE_REQUESTED: WRITE_MODE_REQUESTED,
    Kind.WRITE_DENIED: WRITE_MODE_DENIED,
    Kind.RESUMED: SESSION_RESUMED,
    Kind.ENDED: SESSION_ENDED,
    Kind.PRIVACY_ALERT: PRIVACY_ALERT,
}


def for_audit_entry(kind: str, detail: dict) -> list[str]:
    """The events one audit entry stands for (none for most: actions, connects, links)."""
    if kind == Kind.MODE:
        if detail.get("mode") == CobrowseSession.Mode.WRITE and detail.get("by") == "customer":
            return [WRITE_MODE_APPROVED, SESSION_MODE_CHANGED]  # write mode only by consent
        return [SESSION_MODE_CHANGED]
    event = _BY_KIND.get(kind)
    return [event] if event else []


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    return max(0, round((end - start).total_seconds())) if start and end else None


def site_part(site) -> dict[str, Any] | None:
    return {"id": site.pk, "name": site.name} if site is not None else None


def session_payload(session: CobrowseSession, entry: AuditEntry, event: str) -> dict[str, Any]:
    """The payload of an event recorded as `entry` in the session's audit chain."""
    detail = entry.detail or {}
    data: dict[str, Any] = {}
    if event == SESSION_CREATED:
        data = {"policy_version": session.policy_version}
    elif event == SESSION_MODE_CHANGED:
        data = {"mode": detail.get("mode"), "by": detail.get("by")}
    elif event == WRITE_MODE_APPROVED:
        data = {"mode": CobrowseSession.Mode.WRITE}
    elif event == SESSION_ENDED:
        data = {
            "reason": detail.get("reason", session.end_reason),
            "duration_seconds": _seconds(session.created, session.ended_at or entry.created),
        }
        if detail.get("interaction"):
            data["interaction"] = detail["interaction"]
    elif event == PRIVACY_ALERT:
        kinds = {str(alert.get("kind", "")) for alert in detail.get("alerts", [])}
        data = {"count": detail.get("count", 0), "kinds": sorted(kinds)}
    return {
        "created": entry.created.isoformat(),
        "site": site_part(session.site),
        "session": {
            "code": session.code,
            "status": session.status,
            "mode": session.mode,
            "agent": session.agent.get_username() if session.agent else None,
            "created": session.created.isoformat(),
            "joined_at": _iso(session.joined_at),
            "ended_at": _iso(session.ended_at),
            "interaction": session.interaction_id,
            # The entry's place in the session's audit chain: events of one session in order.
            "seq": entry.seq,
        },
        "actor": entry.actor,
        "data": data,
    }


def interaction_payload(interaction: Interaction, event: str) -> dict[str, Any]:
    """The payload of a chat's or call's event: ids and times. Not the customer's name, not the
    phone system's call id (the integration has our id from its POST), never a message."""
    at = {
        INTERACTION_STARTED: interaction.created,
        INTERACTION_ACCEPTED: interaction.accepted_at,
        INTERACTION_ENDED: interaction.ended_at,
    }.get(event)
    data: dict[str, Any] = {}
    if event == INTERACTION_ENDED:
        data = {
            "ended_by": interaction.ended_by,
            "duration_seconds": _seconds(interaction.created, interaction.ended_at),
        }
    return {
        "created": (at or interaction.created).isoformat(),
        "site": site_part(interaction.site),
        "interaction": {
            "id": interaction.pk,
            "channel": interaction.channel,
            "status": interaction.status,
            "agent": interaction.agent.get_username() if interaction.agent else None,
            "created": interaction.created.isoformat(),
            "accepted_at": _iso(interaction.accepted_at),
            "ended_at": _iso(interaction.ended_at),
        },
        "data": data,
    }
