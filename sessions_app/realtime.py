"""Group names and the events that views and consumers send to a session's sockets."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

END_MESSAGES = {
    "customer_exit": "The customer ended co-browsing.",
    "agent_exit": "The agent ended co-browsing.",
    "expired": "The session expired before an agent joined.",
    "pause_timeout": "The customer did not come back to the site in time.",
    "ended_by_staff": "A supervisor ended the session.",
}


def customer_group(session_id: int) -> str:
    return f"cb-{session_id}-customer"


def agent_group(session_id: int) -> str:
    return f"cb-{session_id}-agent"


def ended_event(reason: str) -> dict:
    return {
        "type": "session.ended",
        "reason": reason,
        "message": END_MESSAGES.get(reason, "The co-browse session ended."),
    }


async def announce_end(session_id: int, reason: str) -> None:
    layer = get_channel_layer()
    event = ended_event(reason)
    await layer.group_send(customer_group(session_id), event)
    await layer.group_send(agent_group(session_id), event)


def announce_end_sync(session_id: int, reason: str) -> None:
    async_to_sync(announce_end)(session_id, reason)
