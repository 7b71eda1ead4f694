"""The tamper-evident audit log: appending to a session's hash chain, and what goes in it.

Every entry's hash covers its contents and the previous entry's hash (see `AuditEntry.canonical`),
so editing or deleting an entry breaks the chain from there on. Entries are written by the
services in `sessions_app.services`, inside the same transaction as the change they record, and
never from the per-frame relay path. `detail` never holds a typed value or a secret.
"""

import json
import re
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import ngettext, override

from sessions_app.models import AUDIT_GENESIS, AuditEntry, CobrowseSession
from webhooks.services import webhooks_enqueue_audit

Kind = AuditEntry.Kind

# What an agent's input action may say about the value: its length, exactly as `typed_length`
# words it ("0 characters", "1 character", "2 characters"), or a checkbox state.
_SAFE_INPUT_DETAIL = re.compile(
    r"1 character|(?:[02-9]|[1-9][0-9]{1,5}) characters|checked|unchecked"
)
# A length as a caller may still word it ("1 characters"): reworded before it is kept.
_TYPED_LENGTH = re.compile(r"([0-9]{1,6}) characters?")


def audit_append(
    *, session_id: int, kind: str, actor: str, detail: dict | None = None
) -> AuditEntry:
    """Append one entry to the session's chain."""
    return audit_extend(session_id=session_id, entries=[(kind, actor, detail or {})])[0]


def audit_extend(*, session_id: int, entries: list[tuple[str, str, dict]]) -> list[AuditEntry]:
    """Append (kind, actor, detail) entries to the session's chain, in order, in one transaction.

    The session row serialises appenders, so seq and prev_hash follow each other even when two
    workers record for the same session at once; the (session, seq) constraint is the backstop.
    """
    with transaction.atomic():
        _lock_session(session_id)
        tail = (
            AuditEntry.objects.filter(session_id=session_id)
            .order_by("-seq")
            .values_list("seq", "hash")
            .first()
        )
        seq, prev_hash = tail if tail else (0, AUDIT_GENESIS)
        rows = []
        for kind, actor, detail in entries:
            seq += 1
            entry = AuditEntry(
                session_id=session_id,
                seq=seq,
                created=timezone.now(),
                actor=actor[:160],
                kind=kind,
                # Round-tripped through JSON so that what is hashed is exactly what is read back.
                detail=json.loads(json.dumps(detail, default=str)),
                prev_hash=prev_hash,
            )
            entry.hash = prev_hash = entry.compute_hash()
            rows.append(entry)
        AuditEntry.objects.bulk_create(rows)
        # Webhook deliveries for these events, committed with them (sent by another process).
        webhooks_enqueue_audit(session_id=session_id, entries=rows)
    return rows


def _lock_session(session_id: int) -> None:
    if connection.features.has_select_for_update:
        list(CobrowseSession.objects.select_for_update().filter(pk=session_id).values_list("pk"))
    else:
        # SQLite has no row locks: a no-op write takes the database's write lock before the
        # tail is read, so a concurrent appender waits instead of reading the same tail.
        CobrowseSession.objects.filter(pk=session_id).update(code=F("code"))


# Actors: who did it, as a short string


def agent_actor(agent_id: int | None) -> str:
    if agent_id is None:
        return "agent"
    User = get_user_model()
    name = User.objects.filter(pk=agent_id).values_list(User.USERNAME_FIELD, flat=True).first()
    return f"agent:{name}" if name else f"agent:#{agent_id}"


def staff_actor(user) -> str:
    return f"staff:{user.get_username()}"


# Details: where and what kind, never what was typed


def page(url: str) -> str:
    """A URL without its query and fragment, which may carry tokens or personal data."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return ""
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:500]


def typed_length(count: int) -> str:
    """What an agent's typing says about the value: its length only ("1 character"). English
    whatever language is active: the trail is kept in English, and _SAFE_INPUT_DETAIL reads it."""
    with override(None):
        return ngettext("%(count)d character", "%(count)d characters", count) % {"count": count}


def input_detail(text: str) -> str:
    """An input action's detail with a length reworded by `typed_length`; anything else as is."""
    length = _TYPED_LENGTH.fullmatch(text)
    return typed_length(int(length[1])) if length else text


def action_detail(action: dict) -> dict:
    """An agent action (as buffered by the customer's consumer) without any typed value."""
    kind = str(action.get("kind", ""))
    text = str(action.get("detail", ""))
    detail = {
        "action": kind,
        "node_id": action.get("node_id"),
        "target": str(action.get("target", ""))[:200],
        "page": page(action.get("url", "")),
    }
    if action.get("created"):
        detail["at"] = action["created"].isoformat()
    if kind == "input":
        # Anything but a length or a checkbox state is withheld rather than risk a typed value.
        text = input_detail(text)
        detail["value"] = text if _SAFE_INPUT_DETAIL.fullmatch(text) else "withheld"
    elif kind == "navigate":
        how, _, to = text.partition(" ")
        detail["navigate"] = how[:20]
        if to:
            detail["to"] = page(to)
    return detail


def alerts_detail(*, url: str, alerts: list) -> dict:
    """Privacy alerts: which nodes and rules, never the scrubbed value."""
    return {
        "count": len(alerts),
        "page": page(url),
        "alerts": [
            {
                "node_id": alert.node_id if isinstance(alert.node_id, int) else -1,
                "kind": str(alert.kind)[:40],
                "selector": str(alert.selector)[:200],
            }
            for alert in alerts[:20]
        ],
    }
