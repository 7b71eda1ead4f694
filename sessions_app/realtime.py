"""Group names and the events that views and consumers send to a session's sockets."""

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import BaseChannelLayer, get_channel_layer
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

QUEUE_GROUP = "inbox-queue"

# Lazy: each socket words them in its user's language when it sends them (end_message).
END_MESSAGES = {
    "customer_exit": _("The customer ended co-browsing."),
    "agent_exit": _("The agent ended co-browsing."),
    "expired": _("The session expired before an agent joined."),
    "pause_timeout": _("The customer did not come back to the site in time."),
    "ended_by_staff": _("A supervisor ended the session."),
    "interaction_ended": _("The chat or call ended, and co-browsing with it."),
    "agent_lost": _("The agent's connection was lost and did not come back in time."),
}


def end_message(reason: str) -> str:
    """Why a session ended, in the active language."""
    return str(END_MESSAGES.get(reason, _("The co-browse session ended.")))


def _layer() -> BaseChannelLayer:
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS has no default layer"
    return layer


def customer_group(session_id: int) -> str:
    return f"cb-{session_id}-customer"


def agent_group(session_id: int) -> str:
    return f"cb-{session_id}-agent"


def chat_group(interaction_id: int) -> str:
    return f"chat-{interaction_id}"


def inbox_group(agent_id: int) -> str:
    return f"inbox-{agent_id}"


MODE_MESSAGES = {
    ("write", "customer"): _("The customer allowed write mode: the agent can type and click."),
    ("pointer", "customer"): _("The customer switched back to pointer mode."),
    ("pointer", "agent"): _("The agent switched back to pointer mode."),
    ("pointer", "agent_disconnected"): _("Back to pointer mode: the agent's connection dropped."),
    ("pointer", "customer_left"): _("Back to pointer mode: the customer left the site."),
    ("pointer", "customer_hidden"): _("Back to pointer mode: the customer's page was hidden."),
}


def mode_message(mode: str, by: str) -> str:
    """Who changed the mode and what it means, in the active language."""
    message = MODE_MESSAGES.get((mode, by))
    return str(message) if message else gettext("Now in %(mode)s mode.") % {"mode": mode}


async def announce_mode(session_id: int, mode: str, by: str) -> None:
    layer = _layer()
    event = {
        "type": "mode.changed",
        "mode": mode,
        "by": by,
        "message": mode_message(mode, by),
    }
    await layer.group_send(customer_group(session_id), event)
    await layer.group_send(agent_group(session_id), event)


def ended_event(reason: str) -> dict:
    return {
        "type": "session.ended",
        "reason": reason,
        "message": end_message(reason),
    }


async def _announce_end_events(session_id: int, reason: str, note: dict | None) -> None:
    layer = _layer()
    event = ended_event(reason)
    await layer.group_send(customer_group(session_id), event)
    await layer.group_send(agent_group(session_id), event)
    if note is not None:
        await announce_chat_message(note)


async def announce_end(session_id: int, reason: str) -> None:
    """Tell both sides; a session that belongs to a live chat leaves a line in its transcript."""
    note = await database_sync_to_async(_note_end_in_chat)(session_id)
    await _announce_end_events(session_id, reason, note)


def announce_end_sync(session_id: int, reason: str) -> None:
    # The note is written here, in the caller's thread and transaction, not in a worker thread.
    async_to_sync(_announce_end_events)(session_id, reason, _note_end_in_chat(session_id))


def _note_end_in_chat(session_id: int) -> dict | None:
    from sessions_app.models import ChatMessage, CobrowseSession
    from sessions_app.services import ServiceError, chat_post

    session = CobrowseSession.objects.select_related("interaction").filter(pk=session_id).first()
    chat = session.interaction if session else None
    if session is None or chat is None or chat.channel != "chat" or not chat.is_live:
        return None
    try:
        message, created = chat_post(
            interaction=chat,
            sender=ChatMessage.Sender.SYSTEM,
            text=f"Co-browse session {session.code_display} ended. The chat goes on.",
            client_id=f"cobrowse-end-{session.pk}",
        )
    except ServiceError:
        return None
    return message.to_dict() if created else None


async def announce_chat_message(message: dict) -> None:
    await _layer().group_send(
        chat_group(message["interaction"]), {"type": "chat.message", "message": message}
    )


async def announce_queue() -> None:
    await _layer().group_send(QUEUE_GROUP, {"type": "queue.changed"})


async def announce_interaction_ended(
    interaction_id: int, by: str, session_ids: list[int], channel: str = "chat"
) -> None:
    layer = _layer()
    for session_id in session_ids:
        await _announce_end_events(session_id, "interaction_ended", None)  # the chat is over
    await layer.group_send(
        chat_group(interaction_id),
        {"type": "chat.ended", "id": interaction_id, "by": by, "channel": channel},
    )
    await announce_queue()


async def announce_to_agent(agent_id: int, event: dict) -> None:
    await _layer().group_send(inbox_group(agent_id), event)
