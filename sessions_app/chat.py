"""Chat sockets: the customer's chat (in the widget) and the agent's inbox (in the workspace)."""

from typing import cast
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sessions_app import services
from sessions_app.consumers import _header, _SessionSocket
from sessions_app.i18n import activate_for_socket
from sessions_app.models import ChatMessage, CobrowseSession, Interaction, is_agent
from sessions_app.realtime import (
    QUEUE_GROUP,
    announce_chat_message,
    announce_interaction_ended,
    announce_queue,
    chat_group,
    inbox_group,
)
from sessions_app.services import ServiceError

# Lazy: worded when sent, in the language of the socket (the agent's inbox speaks the agent's).
ENDED_MESSAGES = {
    "customer": _("The customer ended the chat."),
    "agent": _("The agent ended the chat."),
    "integration": _("The call ended."),
    "staff": _("A supervisor ended the chat."),
}
CALL_ENDED = _("The call ended.")
CHAT_ENDED = _("The chat ended.")
# The customer's own socket speaks to the customer.
CUSTOMER_ENDED_MESSAGES = {**ENDED_MESSAGES, "customer": _("You ended the chat.")}


def _transcript(interaction_id: int) -> list[dict]:
    return [m.to_dict() for m in ChatMessage.objects.filter(interaction_id=interaction_id)]


def _client_id(data: dict) -> str:
    value = data.get("client_id")
    return value[:64] if isinstance(value, str) else ""


class CustomerChatConsumer(_SessionSocket):
    """The customer's side of a chat, authorised by the chat token the widget keeps."""

    interaction_id: int | None = None

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        token = (query.get("token") or [""])[0]
        interaction = await database_sync_to_async(services.chat_for_token)(token)
        if interaction is None or not interaction.is_live:
            await self.refuse(
                ServiceError("chat_not_found", "This chat has ended.", close_code=4404)
            )
            return
        if interaction.site is None or not interaction.site.allows_origin(
            _header(self.scope, b"origin")
        ):
            await self.refuse(
                ServiceError(
                    "foreign_origin", "This page is not on the chat's site.", close_code=4403
                )
            )
            return
        self.interaction_id = interaction.pk
        await self.channel_layer.group_add(chat_group(interaction.pk), self.channel_name)
        await self.accept()
        await self.send_json(
            {
                "type": "state",
                "interaction": interaction.to_dict(),
                "agent": (interaction.agent.get_full_name() or interaction.agent.get_username())
                if interaction.agent
                else None,
                "messages": await database_sync_to_async(_transcript)(interaction.pk),
            }
        )

    async def disconnect(self, code: int) -> None:
        if self.interaction_id is not None:
            await self.channel_layer.group_discard(
                chat_group(self.interaction_id), self.channel_name
            )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is not None and len(text_data) > 8192:
            await self.send_error("too_large", gettext("Messages are at most 2,000 characters."))
            return
        if self.over_rate():
            return
        data = self.parse(text_data)
        if data is None:
            return
        if data["type"] == "message":
            await self.post(data)
        elif data["type"] == "end":
            interaction = await database_sync_to_async(Interaction.objects.get)(
                pk=self.interaction_id
            )
            sessions = await database_sync_to_async(services.interaction_end)(
                interaction=interaction, by="customer"
            )
            await announce_interaction_ended(interaction.pk, "customer", sessions)
        elif data["type"] == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_error("unknown_type", f"Unknown frame type {data['type'][:40]!r}.")

    async def post(self, data: dict) -> None:
        text = data.get("text")
        if not isinstance(text, str):
            await self.send_error("bad_frame", "A message frame has a string 'text'.")
            return
        try:
            interaction = await database_sync_to_async(Interaction.objects.get)(
                pk=self.interaction_id
            )
            message, created = await database_sync_to_async(services.chat_post)(
                interaction=interaction,
                sender=ChatMessage.Sender.CUSTOMER,
                text=text,
                client_id=_client_id(data),
            )
        except ServiceError as error:
            await self.send_json(error.to_frame())
            return
        if created:
            await announce_chat_message(message.to_dict())
        else:
            await self.send_json({"type": "message", "message": message.to_dict()})

    async def chat_message(self, event: dict) -> None:
        await self.send_json({"type": "message", "message": event["message"]})

    async def chat_ended(self, event: dict) -> None:
        self.ended = True
        await self.send_json(
            {
                "type": "ended",
                "by": event["by"],
                "message": str(CUSTOMER_ENDED_MESSAGES.get(event["by"], CHAT_ENDED)),
            }
        )
        await self.close(code=4000)


class AgentInboxConsumer(_SessionSocket):
    """The agent's chats and calls: the queue, the transcripts, accept, send, end."""

    async def connect(self) -> None:
        activate_for_socket(self.scope)  # the agent's language for all this socket says
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(
                ServiceError("not_authenticated", gettext("Log in first."), close_code=4401)
            )
            return
        if not await database_sync_to_async(is_agent)(user):
            await self.refuse(
                ServiceError("not_an_agent", gettext("Only agents handle chats."), close_code=4403)
            )
            return
        # AuthMiddleware's lazy proxy for the logged-in User.
        self.user = cast(User, user)
        await self.channel_layer.group_add(QUEUE_GROUP, self.channel_name)
        await self.channel_layer.group_add(inbox_group(user.pk), self.channel_name)
        state = await database_sync_to_async(self.state)()
        for item in state["mine"]:
            await self.channel_layer.group_add(
                chat_group(item["interaction"]["id"]), self.channel_name
            )
        await self.accept()
        await self.send_json({"type": "state", **state})

    def state(self) -> dict:
        mine = Interaction.objects.handled_by(self.user).order_by("accepted_at")
        return {
            "queued": [i.to_dict() for i in Interaction.objects.queued_chats().order_by("created")],
            "mine": [{"interaction": i.to_dict(), "messages": _transcript(i.pk)} for i in mine],
        }

    async def disconnect(self, code: int) -> None:
        if getattr(self, "user", None) is None:
            return
        await self.channel_layer.group_discard(QUEUE_GROUP, self.channel_name)
        await self.channel_layer.group_discard(inbox_group(self.user.pk), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is not None and len(text_data) > 8192:
            await self.send_error("too_large", gettext("Messages are at most 2,000 characters."))
            return
        if self.over_rate():
            return
        data = self.parse(text_data)
        if data is None:
            return
        kind, interaction_id = data["type"], data.get("id")
        if kind == "ping":
            await self.send_json({"type": "pong"})
            return
        if kind not in ("accept", "message", "end"):
            await self.send_error("unknown_type", f"Unknown frame type {kind[:40]!r}.")
            return
        if not isinstance(interaction_id, int) or isinstance(interaction_id, bool):
            await self.send_error("bad_frame", "Name the chat or call by its integer 'id'.")
            return
        try:
            if kind == "accept":
                await self.accept_chat(interaction_id)
            elif kind == "message":
                await self.post(interaction_id, data)
            else:
                await self.end(interaction_id)
        except ServiceError as error:
            await self.send_json({**error.to_frame(), "id": interaction_id})

    async def own(self, interaction_id: int) -> Interaction:
        interaction = await database_sync_to_async(
            Interaction.objects.filter(pk=interaction_id, agent=self.user).first
        )()
        if interaction is None or not interaction.is_live:
            raise ServiceError(
                "chat_not_found", gettext("This chat or call is not yours, or it ended.")
            )
        return interaction

    async def accept_chat(self, interaction_id: int) -> None:
        interaction = await database_sync_to_async(services.interaction_accept)(
            agent=self.user, interaction_id=interaction_id
        )
        await self.channel_layer.group_add(chat_group(interaction.pk), self.channel_name)
        name = self.user.get_full_name() or self.user.get_username()
        message, created = await database_sync_to_async(services.chat_post)(
            interaction=interaction,
            sender=ChatMessage.Sender.SYSTEM,
            text=f"{name} joined the chat.",
            client_id=f"accepted-{interaction.pk}",
        )
        transcript = await database_sync_to_async(_transcript)(interaction.pk)
        await self.send_json(
            {"type": "interaction", "interaction": interaction.to_dict(), "messages": transcript}
        )
        if created:
            await announce_chat_message(message.to_dict())
        await announce_queue()

    async def post(self, interaction_id: int, data: dict) -> None:
        text = data.get("text")
        if not isinstance(text, str):
            raise ServiceError("bad_frame", "A message frame has a string 'text'.")
        interaction = await self.own(interaction_id)
        if interaction.channel != Interaction.Channel.CHAT:
            raise ServiceError("not_a_chat", gettext("Calls have no chat transcript."))
        message, created = await database_sync_to_async(services.chat_post)(
            interaction=interaction,
            sender=ChatMessage.Sender.AGENT,
            text=text,
            client_id=_client_id(data),
        )
        if created:
            await announce_chat_message(message.to_dict())
        else:
            await self.send_json({"type": "message", "message": message.to_dict()})

    async def end(self, interaction_id: int) -> None:
        interaction = await self.own(interaction_id)
        sessions = await database_sync_to_async(services.interaction_end)(
            interaction=interaction, by="agent"
        )
        await announce_interaction_ended(interaction.pk, "agent", sessions, interaction.channel)

    # Group events

    async def queue_changed(self, event: dict) -> None:
        queued = await database_sync_to_async(
            lambda: [i.to_dict() for i in Interaction.objects.queued_chats().order_by("created")]
        )()
        await self.send_json({"type": "queue", "queued": queued})

    async def chat_message(self, event: dict) -> None:
        await self.send_json({"type": "message", "message": event["message"]})

    async def chat_ended(self, event: dict) -> None:
        await self.channel_layer.group_discard(chat_group(event["id"]), self.channel_name)
        await self.send_json(
            {
                "type": "interaction.ended",
                "id": event["id"],
                "message": str(
                    CALL_ENDED
                    if event.get("channel") == "voice"
                    else ENDED_MESSAGES.get(event["by"], CHAT_ENDED)
                ),
            }
        )

    async def interaction_new(self, event: dict) -> None:
        """A call reported by the telephony integration."""
        await self.channel_layer.group_add(
            chat_group(event["interaction"]["id"]), self.channel_name
        )
        await self.send_json(
            {"type": "interaction", "interaction": event["interaction"], "messages": []}
        )

    async def cobrowse_offer(self, event: dict) -> None:
        """The customer of one of this agent's chats started co-browse: open it."""
        current = await database_sync_to_async(CobrowseSession.objects.active_for)(self.user)
        current_code = current.code if current is not None else None
        busy = current_code is not None and current_code != event["code"]
        await self.send_json(
            {
                "type": "cobrowse.offer",
                "code": event["code"],
                "interaction": event["interaction"],
                "busy": busy,
                "current": current_code if busy else None,
            }
        )
