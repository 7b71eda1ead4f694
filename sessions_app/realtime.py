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


MODE_MESSAGES = {
    ("write", "customer"): "The customer allowed write mode: the agent can type and click.",
    ("pointer", "customer"): "The customer switched back to pointer mode.",
    ("pointer", "agent"): "The agent switched back to pointer mode.",
    ("pointer", "agent_disconnected"): "Back to pointer mode: the agent's connection dropped.",
    ("pointer", "customer_left"): "Back to pointer mode: the customer left the site.",
    ("pointer", "customer_hidden"): "Back to pointer mode: the customer's page was hidden.",
}


async def announce_mode(session_id: int, mode: str, by: str) -> None:
    layer = get_channel_layer()
    event = {
        "type": "mode.changed",
        "mode": mode,
        "by": by,
        "message": MODE_MESSAGES.get((mode, by), f"Now in {mode} mode."),
    }
    await layer.group_send(customer_group(session_id), event)
    await layer.group_send(agent_group(session_id), event)


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
