"""Operations that views and consumers share. Keyword-only; atomic where they write."""

import logging
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from policies.models import PolicyVersion, PrivacyAlert, Site
from policies.selectors import policy_for_site
from sessions_app.models import (
    AgentAction,
    ChatMessage,
    CobrowseSession,
    Interaction,
    hash_token,
    is_agent,
    normalize_code,
)

log = logging.getLogger("cobrowse.sessions")
Status = CobrowseSession.Status


class ServiceError(Exception):
    """A refusal with a stable machine code, a message for people and a WebSocket close code."""

    def __init__(self, code: str, message: str, *, close_code: int = 4400, http_status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.close_code = close_code
        self.http_status = http_status

    def to_frame(self) -> dict:
        return {"type": "error", "code": self.code, "message": self.message}


def _not_found() -> ServiceError:
    return ServiceError(
        "session_not_found",
        "No live co-browse session has this ID. Check the digits with the customer; "
        f"IDs expire after {settings.COBROWSE_WAITING_TIMEOUT // 60} minutes without an agent.",
        close_code=4404,
        http_status=404,
    )


def _new_code() -> str:
    return f"{secrets.randbelow(10**9):09d}"


def session_create(*, site: Site, url: str = "") -> tuple[CobrowseSession, str]:
    """Start a waiting session for a customer; returns it and the customer's secret token."""
    session_expire_stale()
    token = secrets.token_urlsafe(32)
    for _ in range(20):
        try:
            with transaction.atomic():
                session = CobrowseSession.objects.create(
                    code=_new_code(),
                    site=site,
                    customer_token_hash=hash_token(token),
                    current_url=url[:2000] if site.allows_url(url) else "",
                    policy_version=PolicyVersion.current(),
                )
            log.info("session %s created on site %s", session.pk, site.pk)
            return session, token
        except IntegrityError:
            continue  # the code collided with a live one: draw again
    raise ServiceError("no_code", "Could not allocate a session ID; try again.", http_status=503)


def session_expire_stale(*, now=None) -> int:
    """End live sessions that have waited or stayed paused too long. Returns how many."""
    now = now or timezone.now()
    ended = 0
    candidates = CobrowseSession.objects.filter(status__in=[Status.WAITING, Status.PAUSED])
    for session in candidates:
        reason = session.expiry_reason(now)
        if reason:
            session.end(reason=reason)
            ended += 1
    return ended


def _end_if_expired(session: CobrowseSession) -> bool:
    reason = session.expiry_reason()
    if reason:
        session.end(reason=reason)
        return True
    return False


def session_join(*, agent, code: str) -> CobrowseSession:
    """An agent joins by the ID the customer reads out. Rejoining one's own session is allowed."""
    # Expire first, outside the transaction: a refusal below must not roll the expiry back.
    for stale in CobrowseSession.objects.live().filter(
        Q(code=normalize_code(code)) | Q(agent=agent)
    ):
        _end_if_expired(stale)
    with transaction.atomic():
        return _join(agent=agent, code=code)


def _join(*, agent, code: str) -> CobrowseSession:
    if not is_agent(agent):
        raise ServiceError(
            "not_an_agent",
            "Only members of the Agents group can join co-browse sessions.",
            close_code=4403,
            http_status=403,
        )
    code = normalize_code(code)
    if len(code) != 9:
        raise ServiceError(
            "bad_code", "A session ID has 9 digits, like 123 456 789.", close_code=4400
        )
    session = (
        CobrowseSession.objects.select_for_update(of=("self",))
        .filter(code=code, status__in=CobrowseSession.LIVE_STATUSES)
        .select_related("site", "agent", "interaction")
        .first()
    )
    if session is None:
        raise _not_found()
    if session.agent_id == agent.pk:
        return session
    owner = session.interaction.agent_id if session.interaction_id else None
    if session.agent_id is None and owner is not None and owner != agent.pk:
        raise ServiceError(
            "session_reserved",
            "This co-browse session belongs to another agent's chat.",
            close_code=4409,
            http_status=409,
        )
    if session.agent_id is not None:
        raise ServiceError(
            "session_taken",
            "Another agent is already in this session; co-browse has one agent per session.",
            close_code=4409,
            http_status=409,
        )
    current = CobrowseSession.objects.active_for(agent)
    if current is not None:
        raise ServiceError(
            "agent_busy",
            f"You already have a live co-browse session ({current.code_display}). "
            "Exit it before joining another.",
            close_code=4409,
            http_status=409,
        )
    session.agent = agent
    session.status = Status.ACTIVE
    session.joined_at = timezone.now()
    try:
        with transaction.atomic():
            session.save(update_fields=["agent", "status", "joined_at"])
    except IntegrityError:
        # A concurrent join won the race; the constraints keep the invariant.
        raise ServiceError(
            "session_taken",
            "Another agent joined this session a moment ago.",
            close_code=4409,
            http_status=409,
        ) from None
    if session.interaction_id is None:
        call = Interaction.objects.current_call(agent)
        if call is not None:
            session.interaction = call  # joined by ID while on a call: the session is the call's
            session.save(update_fields=["interaction"])
    log.info("session %s joined by agent %s", session.pk, agent.pk)
    return session


def session_customer_connect(
    *, token: str, origin: str | None, channel: str = ""
) -> CobrowseSession:
    """The widget (re)connects with its token: resume a paused session."""
    session = CobrowseSession.objects.by_token(token) if token else None
    if session is None or not session.is_live or _end_if_expired(session):
        raise ServiceError(
            "session_not_found",
            "This co-browse session has ended or expired.",
            close_code=4404,
            http_status=404,
        )
    if not session.site.allows_origin(origin):
        raise ServiceError(
            "foreign_origin",
            "This page is not on the site the session was started on.",
            close_code=4403,
            http_status=403,
        )
    session.customer_channel = channel
    fields = ["customer_channel"]
    if session.status == Status.PAUSED:
        session.status = Status.ACTIVE
        session.paused_at = None
        fields += ["status", "paused_at"]
    session.save(update_fields=fields)
    return session


def session_customer_left(*, session_id: int, channel: str = "") -> CobrowseSession | None:
    """The widget's socket closed without an exit: pause (the agent waits for the customer).

    Only the customer's newest socket counts: when a new page has connected already, the old
    page's late close changes nothing. Returns the paused session, or None.
    """
    with transaction.atomic():
        paused = CobrowseSession.objects.filter(
            pk=session_id, status=Status.ACTIVE, customer_channel=channel
        ).update(status=Status.PAUSED, paused_at=timezone.now(), customer_channel="")
    if not paused:
        return None
    return CobrowseSession.objects.select_related("site", "agent").get(pk=session_id)


def session_record_page(*, session_id: int, url: str, width: int, height: int) -> None:
    """Remember where the customer is (from each full snapshot's meta event)."""
    session = CobrowseSession.objects.filter(pk=session_id).select_related("site").first()
    if session is None:
        return
    fields = {"viewport_width": max(0, width), "viewport_height": max(0, height)}
    if session.site.allows_url(url):
        fields["current_url"] = url[:2000]
    CobrowseSession.objects.filter(pk=session_id).update(**fields)


def session_end(*, session: CobrowseSession, reason: str) -> CobrowseSession:
    with transaction.atomic():
        session = CobrowseSession.objects.select_for_update().get(pk=session.pk)
        session.end(reason=reason)
    log.info("session %s ended: %s", session.pk, reason)
    return session


def session_policy(*, session_id: int, url: str) -> dict:
    """The compiled policy for the page the customer is on (read at each full snapshot)."""
    session = CobrowseSession.objects.select_related("site").get(pk=session_id)
    return policy_for_site(session.site, url)


def privacy_alerts_record(*, session_id: int, url: str, alerts: list) -> None:
    """The server guard scrubbed what the browser should have masked: keep where, never what."""
    session = CobrowseSession.objects.select_related("site").get(pk=session_id)
    PrivacyAlert.objects.bulk_create(
        PrivacyAlert(
            session=session,
            site=session.site,
            node_id=alert.node_id if isinstance(alert.node_id, int) else -1,
            kind=alert.kind[:40],
            selector=alert.selector[:500],
            url=url[:2000] if session.site.allows_url(url) else "",
        )
        for alert in alerts[:100]
    )
    for alert in alerts[:20]:
        log.warning(
            "privacy alert: session %s node %s %s (rule %r); the value was scrubbed, not logged",
            session.pk,
            alert.node_id,
            alert.kind,
            alert.selector,
        )


def session_set_mode(*, session_id: int, mode: str, agent_id: int | None, by: str) -> None:
    """Pointer or write mode; every change goes into the audit trail."""
    CobrowseSession.objects.filter(pk=session_id).update(mode=mode)
    AgentAction.objects.create(
        session_id=session_id,
        agent_id=agent_id,
        kind=AgentAction.Kind.MODE,
        detail=f"{mode} ({by})",
    )
    log.info("session %s mode %s by %s", session_id, mode, by)


def agent_actions_record(*, actions: list[dict]) -> None:
    """Write a batch of audited agent actions (buffered by the consumer, off the hot path)."""
    AgentAction.objects.bulk_create(AgentAction(**action) for action in actions)


# Interactions: chats and calls


def chat_start(*, site: Site, name: str = "") -> tuple[Interaction, str]:
    """A customer opens a chat on the site: queued until an agent accepts it."""
    token = secrets.token_urlsafe(32)
    interaction = Interaction.objects.create(
        channel=Interaction.Channel.CHAT,
        site=site,
        customer_name=(name or "Website visitor").strip()[:100],
        customer_token_hash=hash_token(token),
    )
    log.info("chat %s started on site %s", interaction.pk, site.pk)
    return interaction, token


def chat_for_token(token: str) -> Interaction | None:
    if not token:
        return None
    return (
        Interaction.objects.filter(
            customer_token_hash=hash_token(token), channel=Interaction.Channel.CHAT
        )
        .select_related("agent", "site")
        .first()
    )


def chat_post(
    *,
    interaction: Interaction,
    sender: str,
    text: str,
    client_id: str = "",
    cobrowse_code: str = "",
) -> tuple[ChatMessage, bool]:
    """Store a message once (a resend with the same client id returns the stored one)."""
    text = text.strip()
    if not text:
        raise ServiceError("empty_message", "Type a message first.")
    if len(text) > 2000:
        raise ServiceError("too_long", "Messages are at most 2,000 characters; split it up.")
    if not interaction.is_live:
        raise ServiceError("chat_ended", "This chat has ended.", close_code=4000)
    client_id = client_id[:64]
    if client_id:
        existing = ChatMessage.objects.filter(interaction=interaction, client_id=client_id).first()
        if existing:
            return existing, False
    try:
        with transaction.atomic():
            message = ChatMessage.objects.create(
                interaction=interaction,
                sender=sender,
                text=text,
                client_id=client_id,
                cobrowse_code=cobrowse_code,
            )
    except IntegrityError:
        return ChatMessage.objects.get(interaction=interaction, client_id=client_id), False
    return message, True


@transaction.atomic
def interaction_accept(*, agent, interaction_id: int) -> Interaction:
    if not is_agent(agent):
        raise ServiceError("not_an_agent", "Only agents accept chats.", http_status=403)
    interaction = (
        Interaction.objects.select_for_update()
        .filter(pk=interaction_id)
        .select_related("agent")
        .first()
    )
    if interaction is None or not interaction.is_live:
        raise ServiceError(
            "chat_not_found", "This chat has ended or does not exist.", http_status=404
        )
    if interaction.agent_id == agent.pk:
        return interaction
    if interaction.agent_id is not None:
        raise ServiceError("chat_taken", "Another agent accepted this chat.", http_status=409)
    interaction.agent = agent
    interaction.status = Interaction.Status.ACTIVE
    interaction.accepted_at = timezone.now()
    interaction.save(update_fields=["agent", "status", "accepted_at"])
    log.info("interaction %s accepted by agent %s", interaction.pk, agent.pk)
    return interaction


def voice_call_start(*, agent, external_id: str, customer_name: str = "") -> Interaction:
    """A telephony integration reports a call the agent is on."""
    if not is_agent(agent):
        raise ServiceError(
            "not_an_agent", f"{agent.get_username()} is not an agent.", http_status=400
        )
    interaction = Interaction.objects.create(
        channel=Interaction.Channel.VOICE,
        status=Interaction.Status.ACTIVE,
        agent=agent,
        external_id=external_id[:100],
        customer_name=(customer_name or "Caller").strip()[:100],
        accepted_at=timezone.now(),
    )
    log.info("voice call %s for agent %s", interaction.pk, agent.pk)
    return interaction


def interaction_end(*, interaction: Interaction, by: str) -> list[int]:
    """End a chat or call, and at once every live co-browse session linked to it.

    Returns the ids of the co-browse sessions it ended (the caller announces them).
    """
    with transaction.atomic():
        interaction = Interaction.objects.select_for_update().get(pk=interaction.pk)
        if not interaction.is_live:
            return []
        interaction.status = Interaction.Status.ENDED
        interaction.ended_at = timezone.now()
        interaction.ended_by = by[:20]
        interaction.save(update_fields=["status", "ended_at", "ended_by"])
        ended = []
        for session in CobrowseSession.objects.live().filter(interaction=interaction):
            session.end(reason=CobrowseSession.EndReason.INTERACTION_ENDED)
            ended.append(session.pk)
    log.info("interaction %s ended by %s; co-browse sessions ended: %s", interaction.pk, by, ended)
    return ended


def session_link(*, session: CobrowseSession, interaction: Interaction) -> ChatMessage | None:
    """Link a co-browse session to its chat or call; a chat gets a system message with the ID."""
    CobrowseSession.objects.filter(pk=session.pk).update(interaction=interaction)
    session.interaction = interaction
    if interaction.channel != Interaction.Channel.CHAT:
        return None
    message, _ = chat_post(
        interaction=interaction,
        sender=ChatMessage.Sender.SYSTEM,
        text=f"Co-browse session {session.code_display} started.",
        client_id=f"cobrowse-{session.pk}",
        cobrowse_code=session.code,
    )
    return message
