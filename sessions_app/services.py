"""Operations that views and consumers share. Keyword-only; atomic where they write."""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from policies.models import PolicyVersion, PrivacyAlert, Site
from policies.selectors import policy_for_site
from policies.urls import clean_url, parse_params
from sessions_app import limits
from sessions_app.audit import Kind as AuditKind
from sessions_app.audit import (
    action_detail,
    agent_actor,
    alerts_detail,
    audit_append,
    audit_extend,
    input_detail,
    page,
)
from sessions_app.errors import ServiceError
from sessions_app.models import (
    AgentAction,
    ChatMessage,
    CobrowseSession,
    Interaction,
    hash_token,
    is_agent,
    normalize_code,
)
from webhooks.events import INTERACTION_ACCEPTED, INTERACTION_ENDED, INTERACTION_STARTED
from webhooks.services import webhooks_enqueue_interaction

log = logging.getLogger("cobrowse.sessions")
Status = CobrowseSession.Status


def _not_found() -> ServiceError:
    minutes = settings.COBROWSE_WAITING_TIMEOUT // 60
    return ServiceError(
        "session_not_found",
        ngettext(
            "No live co-browse session has this ID. Check the digits with the customer; IDs "
            "expire after %(count)s minute without an agent.",
            "No live co-browse session has this ID. Check the digits with the customer; IDs "
            "expire after %(count)s minutes without an agent.",
            minutes,
        )
        % {"count": minutes},
        close_code=4404,
        http_status=404,
    )


def _kept_url(site: Site, url: str) -> str:
    """A page of the site as we keep it: no fragment, only the query parameters the site names."""
    return clean_url(url, site.kept_params) if site.allows_url(url) else ""


def _new_code() -> str:
    return f"{secrets.randbelow(10**9):09d}"


def session_create(*, site: Site, url: str = "") -> tuple[CobrowseSession, str]:
    """Start a waiting session for a customer; returns it and the customer's secret token."""
    session_expire_stale()
    cap = settings.COBROWSE_MAX_LIVE_SESSIONS_PER_SITE
    if cap > 0 and CobrowseSession.objects.live().filter(site=site).count() >= cap:
        log.warning("session refused on site %s: %s live sessions", site.pk, cap)
        raise ServiceError(
            "site_busy",
            gettext(
                "Co-browsing is at capacity for this site right now; please try again in a few "
                "minutes."
            ),
            http_status=429,
        )
    token = secrets.token_urlsafe(32)
    for _ in range(20):
        code = _new_code()
        if CobrowseSession.objects.filter(code=code).exists():
            continue  # never hand out a code that any kept record, live or ended, still has
        try:
            with transaction.atomic():
                session = CobrowseSession.objects.create(
                    code=code,
                    site=site,
                    customer_token_hash=hash_token(token),
                    current_url=_kept_url(site, url),
                    policy_version=PolicyVersion.current(),
                )
                audit_append(
                    session_id=session.pk,
                    kind=AuditKind.CREATED,
                    actor="customer",
                    detail={
                        "site": site.pk,
                        "policy_version": session.policy_version,
                        "page": page(session.current_url),
                    },
                )
            log.info("session %s created on site %s", session.pk, site.pk)
            return session, token
        except IntegrityError:
            continue  # the code collided with a live one: draw again
    raise ServiceError(
        "no_code", gettext("Could not allocate a session ID; try again."), http_status=503
    )


def session_expire_stale(*, now=None) -> int:
    """End live sessions that have waited or stayed paused too long. Returns how many."""
    now = now or timezone.now()
    ended = 0
    # Only rows already past their limit (the index on status, created serves the first half).
    waited = now - timedelta(seconds=settings.COBROWSE_WAITING_TIMEOUT)
    paused = now - timedelta(seconds=settings.COBROWSE_PAUSE_TIMEOUT)
    candidates = CobrowseSession.objects.filter(
        Q(status=Status.WAITING, created__lt=waited) | Q(status=Status.PAUSED, paused_at__lt=paused)
    )
    for session in candidates:
        reason = session.expiry_reason(now)
        if reason:
            _end_audited(session, reason=reason, actor="system")
            ended += 1
    return ended


def _end_if_expired(session: CobrowseSession) -> bool:
    reason = session.expiry_reason()
    if reason:
        _end_audited(session, reason=reason, actor="system")
        return True
    return False


def _end_audited(session: CobrowseSession, *, reason: str, actor: str, **detail) -> None:
    """End a live session and record it in its audit chain, in one transaction."""
    with transaction.atomic():
        if not session.is_live:
            return
        session.end(reason=reason)
        audit_append(
            session_id=session.pk,
            kind=AuditKind.ENDED,
            actor=actor,
            detail={"reason": reason, **detail},
        )


def session_join(*, agent, code: str, ip: str | None = None) -> CobrowseSession:
    """An agent joins by the ID the customer reads out. Rejoining one's own session is allowed.

    Wrong IDs count against the agent and the address (`ip`): 9 digits can be guessed, so after
    too many wrong ones every join is refused for a while (`too_many_attempts`).
    """
    agent_id = agent.pk if agent is not None else None
    limits.join_check(agent_id=agent_id, ip=ip)
    # Expire first, outside the transaction: a refusal below must not roll the expiry back.
    for stale in CobrowseSession.objects.live().filter(
        Q(code=normalize_code(code)) | Q(agent=agent)
    ):
        _end_if_expired(stale)
    try:
        with transaction.atomic():
            return _join(agent=agent, code=code)
    except ServiceError as error:
        if error.code in limits.GUESS_CODES:
            limits.join_failed(agent_id=agent_id, ip=ip)
            log.warning("join refused (%s) for agent %s from %s", error.code, agent_id, ip)
        raise


def _join(*, agent, code: str) -> CobrowseSession:
    if not is_agent(agent):
        raise ServiceError(
            "not_an_agent",
            gettext("Only members of the Agents group can join co-browse sessions."),
            close_code=4403,
            http_status=403,
        )
    code = normalize_code(code)
    if len(code) != 9:
        raise ServiceError(
            "bad_code", gettext("A session ID has 9 digits, like 123 456 789."), close_code=4400
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
        audit_append(
            session_id=session.pk,
            kind=AuditKind.REJOINED,
            actor=f"agent:{agent.get_username()}",
            detail={"status": session.status},
        )
        return session
    owner = session.interaction.agent_id if session.interaction else None
    if session.agent_id is None and owner is not None and owner != agent.pk:
        raise ServiceError(
            "session_reserved",
            gettext("This co-browse session belongs to another agent's chat."),
            close_code=4409,
            http_status=409,
        )
    if session.agent_id is not None:
        raise ServiceError(
            "session_taken",
            gettext(
                "Another agent is already in this session; co-browse has one agent per session."
            ),
            close_code=4409,
            http_status=409,
        )
    current = CobrowseSession.objects.active_for(agent)
    if current is not None:
        raise ServiceError(
            "agent_busy",
            gettext(
                "You already have a live co-browse session (%(code)s). Exit it before joining "
                "another."
            )
            % {"code": current.code_display},
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
            gettext("Another agent joined this session a moment ago."),
            close_code=4409,
            http_status=409,
        ) from None
    actor = f"agent:{agent.get_username()}"
    audit_append(session_id=session.pk, kind=AuditKind.JOINED, actor=actor)
    if session.interaction_id is None:
        call = Interaction.objects.current_call(agent)
        if call is not None:
            session.interaction = call  # joined by ID while on a call: the session is the call's
            session.save(update_fields=["interaction"])
            audit_append(
                session_id=session.pk,
                kind=AuditKind.LINKED,
                actor=actor,
                detail={"interaction": call.pk, "channel": call.channel},
            )
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
            gettext("This co-browse session has ended or expired."),
            close_code=4404,
            http_status=404,
        )
    if not session.site.allows_origin(origin):
        raise ServiceError(
            "foreign_origin",
            gettext("This page is not on the site the session was started on."),
            close_code=4403,
            http_status=403,
        )
    session.customer_channel = channel
    fields = ["customer_channel"]
    kind = AuditKind.CUSTOMER_CONNECTED
    if session.status == Status.PAUSED:
        session.status = Status.ACTIVE
        session.paused_at = None
        fields += ["status", "paused_at"]
        kind = AuditKind.RESUMED
    with transaction.atomic():
        session.save(update_fields=fields)
        audit_append(
            session_id=session.pk, kind=kind, actor="customer", detail={"origin": origin or ""}
        )
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
        if paused:
            audit_append(session_id=session_id, kind=AuditKind.PAUSED, actor="customer")
    if not paused:
        return None
    return CobrowseSession.objects.select_related("site", "agent").get(pk=session_id)


def session_record_page(*, session_id: int, url: str, width: int, height: int) -> None:
    """Remember where the customer is (from each full snapshot's meta event)."""
    session = CobrowseSession.objects.filter(pk=session_id).select_related("site").first()
    if session is None:
        return
    fields: dict[str, int | str] = {
        "viewport_width": max(0, width),
        "viewport_height": max(0, height),
    }
    if session.site.allows_url(url):
        fields["current_url"] = _kept_url(session.site, url)
    CobrowseSession.objects.filter(pk=session_id).update(**fields)


def session_end(*, session: CobrowseSession, reason: str, by: str = "") -> CobrowseSession:
    """End a session for both sides. `by` names the actor for the audit log (`staff:sam`); by
    default it follows from the reason."""
    with transaction.atomic():
        session = CobrowseSession.objects.select_for_update().get(pk=session.pk)
        if not by:
            EndReason = CobrowseSession.EndReason
            actors: dict[str, str] = {
                EndReason.CUSTOMER_EXIT: "customer",
                EndReason.AGENT_EXIT: agent_actor(session.agent_id),
                EndReason.ENDED_BY_STAFF: "staff",
            }
            by = actors.get(reason, "system")
        _end_audited(session, reason=reason, actor=by)
    log.info("session %s ended: %s", session.pk, reason)
    return session


def session_policy(*, session_id: int, url: str) -> dict:
    """The compiled policy for the page the customer is on (read at each full snapshot)."""
    session = CobrowseSession.objects.select_related("site").get(pk=session_id)
    return policy_for_site(session.site, url)


def privacy_alerts_record(*, session_id: int, url: str, alerts: list) -> None:
    """The server guard scrubbed what the browser should have masked: keep where, never what."""
    session = CobrowseSession.objects.select_related("site").get(pk=session_id)
    with transaction.atomic():
        PrivacyAlert.objects.bulk_create(
            PrivacyAlert(
                session=session,
                site=session.site,
                node_id=alert.node_id if isinstance(alert.node_id, int) else -1,
                kind=alert.kind[:40],
                selector=alert.selector[:500],
                url=_kept_url(session.site, url),
            )
            for alert in alerts[:100]
        )
        audit_append(
            session_id=session.pk,
            kind=AuditKind.PRIVACY_ALERT,
            actor="system",
            detail=alerts_detail(url=_kept_url(session.site, url), alerts=alerts),
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
    if by == "agent":
        actor = agent_actor(agent_id)
    elif by.startswith("customer") and by != "customer_left":
        actor = "customer"  # approved write mode, or went back to pointer (or hid the tab)
    else:
        actor = "system"  # the agent's socket dropped, or the customer left the site
    with transaction.atomic():
        CobrowseSession.objects.filter(pk=session_id).update(mode=mode)
        AgentAction.objects.create(
            session_id=session_id,
            agent_id=agent_id,
            kind=AgentAction.Kind.MODE,
            detail=f"{mode} ({by})",
        )
        audit_append(
            session_id=session_id, kind=AuditKind.MODE, actor=actor, detail={"mode": mode, "by": by}
        )
    log.info("session %s mode %s by %s", session_id, mode, by)


def agent_actions_record(*, actions: list[dict]) -> None:
    """Write a batch of audited agent actions (buffered by the consumer, off the hot path)."""
    by_session: dict[int, list[tuple[str, str, dict]]] = {}
    actors: dict[int | None, str] = {}
    kept = {
        pk: parse_params(params)
        for pk, params in CobrowseSession.objects.filter(
            pk__in={action["session_id"] for action in actions}
        ).values_list("pk", "site__allowed_query_params")
    }
    # The consumer buffers the page's URL and a navigation's target as the browser gave them.
    actions = [
        _action_without_queries(action, kept.get(action["session_id"], [])) for action in actions
    ]
    for action in actions:
        agent_id = action.get("agent_id")
        if agent_id not in actors:
            actors[agent_id] = agent_actor(agent_id)
        by_session.setdefault(action["session_id"], []).append(
            (AuditKind.ACTION, actors[agent_id], action_detail(action))
        )
    with transaction.atomic():
        AgentAction.objects.bulk_create(AgentAction(**action) for action in actions)
        for session_id, entries in by_session.items():
            audit_extend(session_id=session_id, entries=entries)


def _action_without_queries(action: dict, kept_params: list[str]) -> dict:
    action = {**action, "url": clean_url(action.get("url", ""), kept_params)}
    if action.get("kind") == AgentAction.Kind.NAVIGATE:
        how, _, to = str(action.get("detail", "")).partition(" ")
        if to:
            action["detail"] = f"{how} {clean_url(to, kept_params)}".strip()[:300]
    elif action.get("kind") == AgentAction.Kind.INPUT:
        action["detail"] = input_detail(str(action.get("detail", "")))  # "1 character"
    return action


def session_write_requested(*, session_id: int, agent_id: int) -> None:
    """The agent asked the customer for write mode (the answer is recorded as a mode change)."""
    audit_append(session_id=session_id, kind=AuditKind.WRITE_REQUESTED, actor=agent_actor(agent_id))


def session_write_denied(*, session_id: int) -> None:
    """The customer said no to write mode (an approval is recorded as the mode change)."""
    audit_append(session_id=session_id, kind=AuditKind.WRITE_DENIED, actor="customer")


# Interactions: chats and calls


def chat_start(*, site: Site, name: str = "") -> tuple[Interaction, str]:
    """A customer opens a chat on the site: queued until an agent accepts it."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        interaction = Interaction.objects.create(
            channel=Interaction.Channel.CHAT,
            site=site,
            customer_name=(name or "Website visitor").strip()[:100],
            customer_token_hash=hash_token(token),
        )
        webhooks_enqueue_interaction(interaction=interaction, event=INTERACTION_STARTED)
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
        raise ServiceError("empty_message", gettext("Type a message first."))
    if len(text) > 2000:
        raise ServiceError(
            "too_long", gettext("Messages are at most 2,000 characters; split it up.")
        )
    if not interaction.is_live:
        raise ServiceError("chat_ended", gettext("This chat has ended."), close_code=4000)
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
        raise ServiceError("not_an_agent", gettext("Only agents accept chats."), http_status=403)
    interaction = (
        # of=self: PostgreSQL cannot lock the nullable side of the outer join to the agent.
        Interaction.objects.select_for_update(of=("self",))
        .filter(pk=interaction_id)
        .select_related("agent")
        .first()
    )
    if interaction is None or not interaction.is_live:
        raise ServiceError(
            "chat_not_found", gettext("This chat has ended or does not exist."), http_status=404
        )
    if interaction.agent_id == agent.pk:
        return interaction
    if interaction.agent_id is not None:
        raise ServiceError(
            "chat_taken", gettext("Another agent accepted this chat."), http_status=409
        )
    interaction.agent = agent
    interaction.status = Interaction.Status.ACTIVE
    interaction.accepted_at = timezone.now()
    interaction.save(update_fields=["agent", "status", "accepted_at"])
    webhooks_enqueue_interaction(interaction=interaction, event=INTERACTION_ACCEPTED)
    log.info("interaction %s accepted by agent %s", interaction.pk, agent.pk)
    return interaction


def voice_call_start(*, agent, external_id: str, customer_name: str = "") -> Interaction:
    """A telephony integration reports a call the agent is on."""
    if not is_agent(agent):
        raise ServiceError(
            "not_an_agent",
            gettext("%(name)s is not an agent.") % {"name": agent.get_username()},
            http_status=400,
        )
    with transaction.atomic():
        interaction = Interaction.objects.create(
            channel=Interaction.Channel.VOICE,
            status=Interaction.Status.ACTIVE,
            agent=agent,
            external_id=external_id[:100],
            customer_name=(customer_name or "Caller").strip()[:100],
            accepted_at=timezone.now(),
        )
        webhooks_enqueue_interaction(interaction=interaction, event=INTERACTION_STARTED)
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
        webhooks_enqueue_interaction(interaction=interaction, event=INTERACTION_ENDED)
        ended = []
        for session in CobrowseSession.objects.live().filter(interaction=interaction):
            _end_audited(
                session,
                reason=CobrowseSession.EndReason.INTERACTION_ENDED,
                actor="system",
                interaction=interaction.pk,
                interaction_ended_by=by[:20],
            )
            ended.append(session.pk)
    log.info("interaction %s ended by %s; co-browse sessions ended: %s", interaction.pk, by, ended)
    return ended


def session_link(*, session: CobrowseSession, interaction: Interaction) -> ChatMessage | None:
    """Link a co-browse session to its chat or call; a chat gets a system message with the ID."""
    with transaction.atomic():
        CobrowseSession.objects.filter(pk=session.pk).update(interaction=interaction)
        audit_append(
            session_id=session.pk,
            kind=AuditKind.LINKED,
            actor="system",
            detail={"interaction": interaction.pk, "channel": interaction.channel},
        )
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
