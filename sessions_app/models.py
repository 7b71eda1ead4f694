import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import TypedDict

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from policies.models import Site

AGENTS_GROUP = "Agents"
SUPERVISORS_GROUP = "Supervisors"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def format_code(code: str) -> str:
    """`123456789` -> `123 456 789`, the way customers read it out."""
    return f"{code[:3]} {code[3:6]} {code[6:]}"


def normalize_code(value: str) -> str:
    """Accept what an agent types: spaces, dashes and dots are ignored."""
    return "".join(ch for ch in str(value) if ch.isdigit())


class SessionDict(TypedDict):
    code: str
    code_display: str
    status: str
    mode: str
    site: str
    agent: str | None
    current_url: str
    viewport: dict[str, int] | None
    created: str
    joined_at: str | None
    ended_at: str | None
    end_reason: str
    interaction: int | None
    policy_version: int


class InteractionQuerySet(models.QuerySet["Interaction"]):
    def live(self) -> "InteractionQuerySet":
        return self.exclude(status=Interaction.Status.ENDED)

    def queued_chats(self) -> "InteractionQuerySet":
        return self.filter(channel=Interaction.Channel.CHAT, status=Interaction.Status.QUEUED)

    def handled_by(self, agent) -> "InteractionQuerySet":
        return self.live().filter(agent=agent)

    def current_call(self, agent) -> "Interaction | None":
        return (
            self.handled_by(agent)
            .filter(channel=Interaction.Channel.VOICE)
            .order_by("-accepted_at")
            .first()
        )


class Interaction(models.Model):
    """A chat or a voice call an agent handles; a co-browse session may belong to one."""

    class Channel(models.TextChoices):
        CHAT = "chat", _("Chat")
        VOICE = "voice", _("Voice call")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")

    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="interactions",
    )
    customer_name = models.CharField(max_length=100, blank=True)
    external_id = models.CharField(
        max_length=100, blank=True, help_text=_("The telephony system's call id (voice).")
    )
    # Chat customers reconnect with this token (hashed), like the co-browse widget.
    customer_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    created = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=20, blank=True)

    objects = InteractionQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        indexes = [
            # The agents' queue and each agent's live interactions.
            models.Index(fields=["status", "channel"], name="interaction_status_channel"),
            # A chat customer reconnecting with their token.
            models.Index(fields=["customer_token_hash"], name="interaction_token"),
            # The purge: one site's chats (or the site-less calls) that ended before the cutoff.
            models.Index(fields=["site", "ended_at"], name="interaction_site_ended"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="active") | Q(agent__isnull=False),
                name="active_interaction_has_agent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} with {self.customer_name or 'a customer'}"

    @property
    def is_live(self) -> bool:
        return self.status != self.Status.ENDED

    def to_dict(self) -> dict:
        return {
            "id": self.pk,
            "channel": self.channel,
            "status": self.status,
            "customer_name": self.customer_name,
            "external_id": self.external_id,
            "agent": self.agent.get_username() if self.agent else None,
            "created": self.created.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
        }


class ChatMessage(models.Model):
    class Sender(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        AGENT = "agent", _("Agent")
        SYSTEM = "system", _("System")

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="messages")
    sender = models.CharField(max_length=10, choices=Sender.choices)
    text = models.TextField(max_length=2000)
    # The sender's own id for the message: a resend after a reconnect is stored once.
    client_id = models.CharField(max_length=64, blank=True)
    # A system message announcing a co-browse session carries its code, shown as a link.
    cobrowse_code = models.CharField(max_length=9, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["interaction", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["interaction", "client_id"],
                condition=~Q(client_id=""),
                name="chat_message_sent_once",
            )
        ]

    def to_dict(self) -> dict:
        return {
            "id": self.pk,
            "interaction": self.interaction_id,
            "sender": self.sender,
            "text": self.text,
            "client_id": self.client_id,
            "cobrowse_code": self.cobrowse_code,
            "created": self.created.isoformat(),
        }


class CobrowseSessionQuerySet(models.QuerySet["CobrowseSession"]):
    def live(self) -> "CobrowseSessionQuerySet":
        return self.exclude(status=CobrowseSession.Status.ENDED)

    def active_for(self, agent) -> "CobrowseSession | None":
        return self.live().filter(agent=agent).first()

    def by_code(self, code: str) -> "CobrowseSession | None":
        return self.live().filter(code=normalize_code(code)).select_related("site", "agent").first()

    def by_token(self, token: str) -> "CobrowseSession | None":
        return (
            self.filter(customer_token_hash=hash_token(token))
            .select_related("site", "agent")
            .first()
        )


class CobrowseSession(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting for an agent")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused (customer left the site)")
        ENDED = "ended", _("Ended")

    class Mode(models.TextChoices):
        POINTER = "pointer", _("Pointer")
        WRITE = "write", _("Write")

    class EndReason(models.TextChoices):
        NONE = "", "-"
        CUSTOMER_EXIT = "customer_exit", _("Customer exited")
        AGENT_EXIT = "agent_exit", _("Agent exited")
        EXPIRED = "expired", _("No agent joined in time")
        PAUSE_TIMEOUT = "pause_timeout", _("Customer did not come back in time")
        ENDED_BY_STAFF = "ended_by_staff", _("Ended by a supervisor or administrator")
        INTERACTION_ENDED = "interaction_ended", _("The chat or call ended")
        AGENT_LOST = "agent_lost", _("Agent's connection did not come back in time")

    LIVE_STATUSES = (Status.WAITING, Status.ACTIVE, Status.PAUSED)

    code = models.CharField(max_length=9, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.POINTER)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="sessions")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cobrowse_sessions",
    )
    # Only the hash is stored: the token in the customer's browser is what lets the widget reconnect.
    customer_token_hash = models.CharField(max_length=64, unique=True, editable=False)
    interaction = models.ForeignKey(
        Interaction,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cobrowse_sessions",
        help_text=_("The chat or call this session belongs to."),
    )
    # The customer's newest socket: an older page closing late must not pause the session.
    customer_channel = models.CharField(max_length=200, blank=True, editable=False)
    current_url = models.URLField(max_length=2000, blank=True)
    viewport_width = models.PositiveIntegerField(null=True, blank=True)
    viewport_height = models.PositiveIntegerField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    joined_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    policy_version = models.PositiveIntegerField(
        default=1, help_text=_("The privacy policy version in force when the session started.")
    )
    end_reason = models.CharField(
        max_length=20, choices=EndReason.choices, default=EndReason.NONE, blank=True
    )

    objects = CobrowseSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        constraints = [
            # An agent co-browses with one customer at a time.
            models.UniqueConstraint(
                fields=["agent"],
                condition=Q(status__in=["waiting", "active", "paused"]),
                name="one_live_session_per_agent",
            ),
            # The code identifies a live session; ended codes may come back later.
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(status__in=["waiting", "active", "paused"]),
                name="code_unique_among_live_sessions",
            ),
            # Active and paused sessions have their (one) agent; waiting ones have none yet.
            models.CheckConstraint(
                condition=Q(status__in=["waiting", "ended"]) | Q(agent__isnull=False),
                name="joined_session_has_agent",
            ),
            models.CheckConstraint(
                condition=~Q(status="waiting") | Q(agent__isnull=True),
                name="waiting_session_has_no_agent",
            ),
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{9}$"), name="code_is_nine_digits"
            ),
        ]
        indexes = [
            # The expiry sweep: live sessions by status and age.
            models.Index(fields=["status", "created"], name="session_status_created"),
            # Reports: sessions started in a period, all sites and agents.
            models.Index(fields=["created"], name="session_created"),
            # Reports filtered by site; the same period per site.
            models.Index(fields=["site", "created"], name="session_site_created"),
            # Reports filtered by agent.
            models.Index(fields=["agent", "created"], name="session_agent_created"),
            # The purge: one site's sessions that ended before its cutoff.
            models.Index(fields=["site", "ended_at"], name="session_site_ended"),
        ]

    def __str__(self) -> str:
        return f"Session {self.code_display} ({self.status})"

    @property
    def code_display(self) -> str:
        return format_code(self.code)

    @property
    def is_live(self) -> bool:
        return self.status != self.Status.ENDED

    def expiry_reason(self, now: datetime | None = None) -> str | None:
        """Why this live session should end now, or None."""
        now = now or timezone.now()
        if self.status == self.Status.WAITING:
            limit = timedelta(seconds=settings.COBROWSE_WAITING_TIMEOUT)
            if now - self.created > limit:
                return self.EndReason.EXPIRED
        if self.status == self.Status.PAUSED and self.paused_at:
            limit = timedelta(seconds=settings.COBROWSE_PAUSE_TIMEOUT)
            if now - self.paused_at > limit:
                return self.EndReason.PAUSE_TIMEOUT
        return None

    def end(self, *, reason: str) -> None:
        if not self.is_live:
            return
        self.status = self.Status.ENDED
        self.end_reason = reason
        self.ended_at = timezone.now()
        self.save(update_fields=["status", "end_reason", "ended_at"])

    def to_dict(self) -> SessionDict:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        viewport = None
        if self.viewport_width and self.viewport_height:
            viewport = {"width": self.viewport_width, "height": self.viewport_height}
        return {
            "code": self.code,
            "code_display": self.code_display,
            "status": self.status,
            "mode": self.mode,
            "site": self.site.name,
            "agent": self.agent.get_username() if self.agent else None,
            "current_url": self.current_url,
            "viewport": viewport,
            "created": self.created.isoformat(),
            "joined_at": iso(self.joined_at),
            "ended_at": iso(self.ended_at),
            "end_reason": self.end_reason,
            "interaction": self.interaction_id,
            "policy_version": self.policy_version,
        }


def is_agent(user) -> bool:
    return user.is_authenticated and user.groups.filter(name=AGENTS_GROUP).exists()


def is_supervisor(user) -> bool:
    return user.is_authenticated and (
        user.is_staff or user.groups.filter(name=SUPERVISORS_GROUP).exists()
    )


class AgentAction(models.Model):
    """Audit trail of what an agent did to a customer's page in write mode.

    Never the text typed: only which element, what kind of action and how long a value was.
    """

    class Kind(models.TextChoices):
        CLICK = "click", _("Click")
        INPUT = "input", _("Input")
        FOCUS = "focus", _("Focus")
        NAVIGATE = "navigate", _("Navigate")
        MODE = "mode", _("Mode change")

    session = models.ForeignKey(CobrowseSession, on_delete=models.CASCADE, related_name="actions")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    node_id = models.IntegerField(null=True, blank=True)
    target = models.CharField(
        max_length=200, blank=True, help_text=_("tag#id.class of the element")
    )
    detail = models.CharField(max_length=300, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["session", "created"]
        indexes = [
            # The audit view of one session, in order.
            models.Index(fields=["session", "created"], name="action_session_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.target}".strip()


AUDIT_GENESIS = "0" * 64  # prev_hash of a session's first entry


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def chain(self, session_id: int) -> "AuditEntryQuerySet":
        return self.filter(session_id=session_id).order_by("seq")

    def first_broken(self, session_id: int) -> "AuditEntry | None":
        """Walk one session's chain; return the first entry that does not verify, or None.

        The returned entry carries `problem_text`, a sentence saying what is wrong. A deleted
        entry shows as a gap: the next entry's seq and prev_hash no longer follow.
        """
        expected_seq, prev_hash = 1, AUDIT_GENESIS
        for entry in self.chain(session_id).iterator():
            problem = entry.problem(expected_seq=expected_seq, prev_hash=prev_hash)
            if problem:
                entry.problem_text = problem
                return entry
            expected_seq, prev_hash = entry.seq + 1, entry.hash
        return None


class AuditEntry(models.Model):
    """One link in a session's tamper-evident audit chain: every entry hashes the previous one.

    Append only through `sessions_app.audit.audit_append`. `detail` never holds a typed value or
    a secret: lengths, kinds, element descriptions and page paths only.
    """

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        JOINED = "joined", _("Agent joined")
        REJOINED = "rejoined", _("Agent rejoined")
        CUSTOMER_CONNECTED = "customer_connected", _("Customer connected")
        PAUSED = "paused", _("Paused")
        RESUMED = "resumed", _("Resumed")
        WRITE_REQUESTED = "write_requested", _("Write mode requested")
        WRITE_DENIED = "write_denied", _("Write mode denied")
        MODE = "mode", _("Mode changed")
        ACTION = "action", _("Agent action")
        PRIVACY_ALERT = "privacy_alert", _("Privacy alert")
        LINKED = "linked", _("Linked to a chat or call")
        ENDED = "ended", _("Ended")

    # PROTECT: a session with an audit trail cannot be deleted by accident (or by a cascade).
    session = models.ForeignKey(
        CobrowseSession, on_delete=models.PROTECT, related_name="audit_entries"
    )
    seq = models.PositiveIntegerField(help_text=_("Position in the session's chain, from 1."))
    created = models.DateTimeField(default=timezone.now)
    actor = models.CharField(
        max_length=160, help_text=_("agent:NAME, customer, system or staff:NAME")
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditEntryQuerySet.as_manager()
    # Not a column: what `first_broken` found wrong with the entry it returns.
    problem_text: str = ""

    class Meta:
        ordering = ["session", "seq"]
        verbose_name_plural = _("audit entries")
        constraints = [
            # One entry per position; it also serves the chain walk and the tail lookup (the
            # session's last seq and hash) on every append.
            models.UniqueConstraint(fields=["session", "seq"], name="audit_seq_unique_per_session"),
        ]
        indexes = [
            # The admin list, newest first, and its date drill-down.
            models.Index(fields=["created"], name="audit_created"),
            # "Every privacy alert (or every end) this month": the admin's kind filter.
            models.Index(fields=["kind", "created"], name="audit_kind_created"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} by {self.actor}"

    def canonical(self) -> bytes:
        """What the hash covers, as JSON with sorted keys and no whitespace."""
        payload = {
            "session": self.session_id,
            "seq": self.seq,
            "created": self.created.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": self.actor,
            "kind": self.kind,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
        }
        return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def problem(self, *, expected_seq: int, prev_hash: str) -> str | None:
        """Why this entry breaks the chain, given what should precede it; None if it fits."""
        if self.seq != expected_seq:
            return f"expected seq {expected_seq}: an entry before it is missing"
        if self.prev_hash != prev_hash:
            return "prev_hash does not match the previous entry's hash"
        if self.hash != self.compute_hash():
            return "hash does not match the entry's contents: it was edited"
        return None


class Purge(models.Model):
    """One site's run of the retention purge (`manage.py purge`): what went, and up to when."""

    created = models.DateTimeField(default=timezone.now)
    # SET_NULL and a copy of the name: the record outlives a site deleted later.
    site = models.ForeignKey(Site, null=True, on_delete=models.SET_NULL, related_name="+")
    site_name = models.CharField(max_length=100)
    sessions_ended_before = models.DateTimeField(null=True, blank=True)
    chats_ended_before = models.DateTimeField(null=True, blank=True)
    alerts_raised_before = models.DateTimeField(null=True, blank=True)
    sessions = models.PositiveIntegerField(default=0)
    audit_entries = models.PositiveIntegerField(default=0)
    agent_actions = models.PositiveIntegerField(default=0)
    chats = models.PositiveIntegerField(default=0, help_text=_("Chats and calls."))
    chat_messages = models.PositiveIntegerField(default=0)
    privacy_alerts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"Purge of {self.site_name} on {self.created:%Y-%m-%d %H:%M}"


class PurgedSession(models.Model):
    """What is left of a session the purge deleted: enough for `verify_audit` to say so, and the
    head of its audit chain, which verified when it was purged."""

    purge = models.ForeignKey(Purge, on_delete=models.CASCADE, related_name="purged_sessions")
    session_id = models.PositiveIntegerField(help_text=_("The session's database id."))
    code = models.CharField(max_length=9)
    created = models.DateTimeField()
    ended_at = models.DateTimeField(null=True)
    audit_entries = models.PositiveIntegerField()
    last_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["session_id"]
        indexes = [
            # verify_audit and export_subject given a session ID the purge removed.
            models.Index(fields=["code"], name="purged_session_code"),
            # verify_audit given a database id.
            models.Index(fields=["session_id"], name="purged_session_id"),
        ]

    def __str__(self) -> str:
        return f"Session {format_code(self.code)} (id {self.session_id}), purged"
