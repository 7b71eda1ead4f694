from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from django.urls import path

from cobrowse import accesslog
from cobrowse.origins import WorkspaceOriginValidator
from policies.selectors import origin_is_any_site
from sessions_app.chat import AgentInboxConsumer, CustomerChatConsumer
from sessions_app.consumers import AgentConsumer, CustomerConsumer

# daphne logs request paths with their query strings (the widget's ?url= and ?token=).
accesslog.install()


class SiteOriginValidator:
    """Let the widget's socket through only from an origin some site allows."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        origin = None
        for key, value in scope.get("headers", []):
            if key == b"origin":
                origin = value.decode("latin1")
        if await database_sync_to_async(origin_is_any_site)(origin):
            return await self.app(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


websocket_urlpatterns = [
    path(
        "ws/agent/<str:code>/",
        WorkspaceOriginValidator(AuthMiddlewareStack(AgentConsumer.as_asgi())),
    ),
    path("ws/customer/", SiteOriginValidator(CustomerConsumer.as_asgi())),
    path("ws/chat/", SiteOriginValidator(CustomerChatConsumer.as_asgi())),
    path(
        "ws/inbox/",
        WorkspaceOriginValidator(AuthMiddlewareStack(AgentInboxConsumer.as_asgi())),
    ),
]
