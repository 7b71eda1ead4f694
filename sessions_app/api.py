"""REST API under /api/v1/: the widget's public endpoints and the staff endpoints."""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from policies.models import Site
from policies.selectors import policy_for_site, site_for_key
from policies.urls import clean_url, strip_query
from sessions_app import limits, services
from sessions_app.audit import staff_actor
from sessions_app.models import CobrowseSession, Interaction, is_supervisor, normalize_code
from sessions_app.realtime import (
    announce_chat_message,
    announce_end_sync,
    announce_interaction_ended,
    announce_queue,
    announce_to_agent,
)
from sessions_app.services import ServiceError

if TYPE_CHECKING:
    from rest_framework.permissions import _PermissionClass


def _error(code: str, message: str, http_status: int) -> Response:
    return Response({"code": code, "message": message}, status=http_status)


def _readable(response: Response) -> Response:
    """Let any page read an error that says nothing about a site, so the widget can show it."""
    response["Access-Control-Allow-Origin"] = "*"
    return response


class PublicCorsMixin:
    """The widget calls from the customer's page: allow CORS for the site's own origins only."""

    authentication_classes: Sequence[type[BaseAuthentication]] = []
    permission_classes: "Sequence[_PermissionClass]" = [permissions.AllowAny]

    def cors(self, request: HttpRequest, response: Response, site) -> Response:
        origin = request.headers.get("Origin")
        if origin and site is not None and site.allows_origin(origin):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Content-Type"
            response["Access-Control-Max-Age"] = "600"
            response["Vary"] = "Origin"
        return response


class SessionCreateSerializer(serializers.Serializer):
    site = serializers.CharField(help_text="The site key from the embed tag's data-site.")
    url = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    chat = serializers.CharField(
        required=False, allow_blank=True, help_text="The widget's chat token: links the session."
    )


class SessionCreatedSerializer(serializers.Serializer):
    code = serializers.CharField()
    code_display = serializers.CharField()
    token = serializers.CharField(help_text="Secret the widget keeps to reconnect; shown once.")
    status = serializers.CharField()
    expires_in = serializers.IntegerField()


class SessionSerializer(serializers.Serializer):
    code = serializers.CharField()
    code_display = serializers.CharField()
    status = serializers.CharField()
    mode = serializers.CharField()
    site = serializers.CharField()
    agent = serializers.CharField(allow_null=True)
    current_url = serializers.CharField()
    viewport = serializers.DictField(allow_null=True)
    created = serializers.CharField()
    joined_at = serializers.CharField(allow_null=True)
    ended_at = serializers.CharField(allow_null=True)
    end_reason = serializers.CharField()
    interaction = serializers.IntegerField(allow_null=True)
    interaction_channel = serializers.CharField(
        allow_null=True, required=False, help_text="chat or voice; in lists only."
    )
    policy_version = serializers.IntegerField()


class IsSupervisorOrAdmin(permissions.BasePermission):
    message = "Only supervisors and administrators can see sessions."

    def has_permission(self, request, view) -> bool:
        return is_supervisor(request.user)


class SessionListCreate(PublicCorsMixin, APIView):
    # Listing is for staff; creating is the widget's public call, made without cookies
    # (credentials: "omit"), so session authentication and its CSRF check do not apply to it.
    # The stubs type the raw setting (dotted paths); api_settings hands out the imported classes.
    authentication_classes = api_settings.DEFAULT_AUTHENTICATION_CLASSES  # type: ignore[assignment]

    def get_permissions(self):
        if self.request.method == "GET":
            return [permissions.IsAuthenticated(), IsSupervisorOrAdmin()]
        return [permissions.AllowAny()]

    @extend_schema(responses=SessionSerializer(many=True))
    def get(self, request):
        sessions = CobrowseSession.objects.select_related("site", "agent", "interaction")
        services.session_expire_stale()  # the supervisor page polls this: show no stale rows
        wanted = request.query_params.get("status")
        if wanted:
            # One status or several: the supervisor page asks for waiting,active,paused.
            sessions = sessions.filter(status__in=wanted.split(","))
        return Response([listed_session(s) for s in sessions[:200]])

    def options(self, request, *args, **kwargs):
        site = site_for_key(request.query_params.get("site", ""))
        if site is None:
            # Preflights carry no body; any site that allows this origin may answer it.
            origin = request.headers.get("Origin")
            site = next((s for s in Site.objects.all() if s.allows_origin(origin)), None)
        return self.cors(request, Response(status=status.HTTP_204_NO_CONTENT), site)

    @extend_schema(request=SessionCreateSerializer, responses={201: SessionCreatedSerializer})
    def post(self, request):
        body = SessionCreateSerializer(data=request.data)
        if not body.is_valid():
            return _readable(_error("bad_request", "Send JSON with the site key in 'site'.", 400))
        site = site_for_key(body.validated_data["site"])
        if site is None:
            return _readable(
                _error("unknown_site", "No site has this key; check the embed tag.", 404)
            )
        if not site.allows_origin(request.headers.get("Origin")):
            return _error(
                "foreign_origin", "This page's origin is not one of the site's origins.", 403
            )
        try:
            session, token = services.session_create(
                site=site, url=body.validated_data.get("url", "")
            )
        except ServiceError as e:
            return self.cors(request, _error(e.code, e.message, e.http_status), site)
        chat = services.chat_for_token(body.validated_data.get("chat", ""))
        if chat is not None and chat.is_live and chat.site_id == site.pk:
            _link_to_chat(session, chat)
        data = {
            "code": session.code,
            "code_display": session.code_display,
            "token": token,
            "status": session.status,
            "expires_in": settings.COBROWSE_WAITING_TIMEOUT,
        }
        return self.cors(request, Response(data, status=201), site)


def shown_session(session: CobrowseSession) -> dict:
    """A session as the API returns it: its page without the query parameters the site drops
    (rows stored before the site changed its list, or before URLs were cleaned, included)."""
    data = session.to_dict()
    return {**data, "current_url": clean_url(data["current_url"], session.site.kept_params)}


def listed_session(session: CobrowseSession) -> dict:
    """A session as staff see it in a list: with the kind of chat or call it belongs to."""
    channel = session.interaction.channel if session.interaction else None
    return {**shown_session(session), "interaction_channel": channel}


def _link_to_chat(session: CobrowseSession, chat: Interaction) -> None:
    """Co-browse started from a chat: a line in the transcript, and the agent's tab opens."""
    message = services.session_link(session=session, interaction=chat)
    if message is not None:
        async_to_sync(announce_chat_message)(message.to_dict())
    if chat.agent_id:
        async_to_sync(announce_to_agent)(
            chat.agent_id,
            {"type": "cobrowse.offer", "code": session.code, "interaction": chat.pk},
        )


class ChatCreateSerializer(serializers.Serializer):
    site = serializers.CharField()
    name = serializers.CharField(required=False, allow_blank=True, max_length=100)


class ChatCreate(PublicCorsMixin, APIView):
    """The widget's **Chat with us**: a queued chat, and the token that reconnects to it."""

    @extend_schema(request=ChatCreateSerializer, responses={201: dict})
    def post(self, request):
        body = ChatCreateSerializer(data=request.data)
        if not body.is_valid():
            return _readable(_error("bad_request", "Send JSON with the site key in 'site'.", 400))
        site = site_for_key(body.validated_data["site"])
        if site is None:
            return _readable(_error("unknown_site", "No site has this key.", 404))
        if not site.allows_origin(request.headers.get("Origin")):
            return _error("foreign_origin", "This page's origin is not one of the site's.", 403)
        chat, token = services.chat_start(site=site, name=body.validated_data.get("name", ""))
        async_to_sync(announce_queue)()
        return self.cors(request, Response({"id": chat.pk, "token": token}, status=201), site)

    def options(self, request, *args, **kwargs):
        origin = request.headers.get("Origin")
        site = next((s for s in Site.objects.all() if s.allows_origin(origin)), None)
        return self.cors(request, Response(status=status.HTTP_204_NO_CONTENT), site)


class CanReportCalls(permissions.BasePermission):
    """Telephony integrations (token auth), administrators, or the agent reporting their own call."""

    message = "Only integrations, administrators and the agent themselves can report calls."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if request.method in permissions.SAFE_METHODS:
            self.message = "Only supervisors, administrators and integrations list interactions."
            return is_supervisor(user) or user.has_perm("sessions_app.add_interaction")
        return True  # decided per request in the view: own calls, or the add permission


class VoiceCallSerializer(serializers.Serializer):
    agent = serializers.CharField(help_text="The agent's username.")
    external_id = serializers.CharField(max_length=100, help_text="The telephony call id.")
    customer_name = serializers.CharField(required=False, allow_blank=True, max_length=100)


class Interactions(APIView):
    permission_classes = [permissions.IsAuthenticated, CanReportCalls]

    @extend_schema(responses=dict)
    def get(self, request):
        interactions = Interaction.objects.select_related("agent").prefetch_related(
            "cobrowse_sessions__site", "cobrowse_sessions__agent"
        )
        wanted = request.query_params.get("status")
        if wanted:
            interactions = interactions.filter(status=wanted)
        return Response(
            [
                {**i.to_dict(), "sessions": [shown_session(s) for s in i.cobrowse_sessions.all()]}
                for i in interactions[:200]
            ]
        )

    @extend_schema(request=VoiceCallSerializer, responses={201: dict})
    def post(self, request):
        body = VoiceCallSerializer(data=request.data)
        if not body.is_valid():
            return Response({"code": "bad_request", "errors": body.errors}, status=400)
        agent = User.objects.filter(username=body.validated_data["agent"]).first()
        if agent is None:
            return _error("unknown_agent", "No user has this username.", 400)
        if agent != request.user and not request.user.has_perm("sessions_app.add_interaction"):
            return _error("forbidden", CanReportCalls.message, 403)
        try:
            call = services.voice_call_start(
                agent=agent,
                external_id=body.validated_data["external_id"],
                customer_name=body.validated_data.get("customer_name", ""),
            )
        except ServiceError as e:
            return _error(e.code, e.message, e.http_status)
        async_to_sync(announce_to_agent)(
            agent.pk, {"type": "interaction.new", "interaction": call.to_dict()}
        )
        return Response(call.to_dict(), status=201)


class InteractionEnd(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=dict)
    def post(self, request, pk: int):
        interaction = Interaction.objects.filter(pk=pk).first()
        if interaction is None:
            return _error("not_found", "No chat or call has this id.", 404)
        own = interaction.agent_id == request.user.pk
        if not (
            own
            or is_supervisor(request.user)
            or request.user.has_perm("sessions_app.change_interaction")
        ):
            return _error("forbidden", "Only its agent, integrations and supervisors end it.", 403)
        if not interaction.is_live:
            return _error("already_ended", "It has already ended.", 409)
        if own:
            by = "agent"
        elif is_supervisor(request.user):
            by = "staff"
        else:
            by = "integration"
        sessions = services.interaction_end(interaction=interaction, by=by)
        async_to_sync(announce_interaction_ended)(interaction.pk, by, sessions, interaction.channel)
        interaction.refresh_from_db()
        return Response({**interaction.to_dict(), "ended_sessions": len(sessions)})


def _session_by_code(code: str) -> CobrowseSession | None:
    return (
        CobrowseSession.objects.filter(code=normalize_code(code))
        .select_related("site", "agent")
        .order_by("-created")
        .first()
    )


class SessionDetail(APIView):
    permission_classes = [permissions.IsAuthenticated, IsSupervisorOrAdmin]

    @extend_schema(responses=SessionSerializer)
    def get(self, request, code: str):
        session = _session_by_code(code)
        if session is None:
            return _error("session_not_found", "No session has this ID.", 404)
        return Response(shown_session(session))


class SessionEnd(APIView):
    """The session's agent, supervisors and administrators end a session.

    To anyone else a session that is not theirs is answered exactly like an unknown ID, and
    counts as a wrong guess towards the join limits: this must not tell which IDs exist.
    """

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=SessionSerializer)
    def post(self, request, code: str):
        session = _session_by_code(code)
        own = session is not None and session.agent_id == request.user.pk
        if not (own or is_supervisor(request.user)):
            ip = limits.client_address(request)
            try:
                limits.join_check(agent_id=request.user.pk, ip=ip)
            except ServiceError as e:
                return _error(e.code, e.message, e.http_status)
            limits.join_failed(agent_id=request.user.pk, ip=ip)
            session = None
        if session is None:
            return _error("session_not_found", "No session has this ID.", 404)
        if not session.is_live:
            return _error("already_ended", "This session has already ended.", 409)
        reason = (
            CobrowseSession.EndReason.AGENT_EXIT
            if own
            else CobrowseSession.EndReason.ENDED_BY_STAFF
        )
        by = "" if own else staff_actor(request.user)  # the audit log names who ended it
        session = services.session_end(session=session, reason=reason, by=by)
        announce_end_sync(session.pk, reason)
        return Response(shown_session(session))


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


def _selectors(help_text: str = "") -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(), help_text=help_text)


class MaskSelectorsSerializer(serializers.Serializer):
    input = _selectors("Fields whose values show as mask_text.")
    text = _selectors("Elements whose text shows as mask_text.")
    block = _selectors("Elements shown as an empty box.")


class RestrictSelectorsSerializer(serializers.Serializer):
    control = _selectors("Controls the agent cannot click (green boxes).")
    field = _selectors("Fields the agent cannot use; their values are masked (purple boxes).")


class FramePolicySerializer(serializers.Serializer):
    mask = MaskSelectorsSerializer()
    restrict = RestrictSelectorsSerializer()


class MaskAttributesSerializer(serializers.Serializer):
    safe = _selectors("Attributes that may pass on a masked element; all others are dropped.")
    sensitive = _selectors("Attributes that pass as mask_text on a masked element.")


class PolicySerializer(serializers.Serializer):
    """The shape `policies.selectors.policy_for_site` returns (the schema only: never validated)."""

    version = serializers.IntegerField(help_text="The global policy version.")
    site = serializers.CharField(help_text="The site key.")
    write_mode_enabled = serializers.BooleanField()
    submit_restricted = serializers.BooleanField()
    mask_reveals_length = serializers.BooleanField()
    kept_params = _selectors("Query parameters that stored and shown URLs may keep.")
    path = serializers.CharField(help_text="The normalised path the rules were picked for.")
    origins = _selectors("The site's origins: where write-mode navigation may go.")
    mask = MaskSelectorsSerializer()
    restrict = RestrictSelectorsSerializer()
    frames = FramePolicySerializer(
        help_text="Extra rules for same-origin frames: every URL-scoped rule applies in them."
    )
    attributes = MaskAttributesSerializer()
    mask_text = serializers.CharField()


class SitePolicy(PublicCorsMixin, APIView):
    """The compiled privacy policy for one page (?url=): the widget applies it before recording."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "url", str, description="The page's URL: selects rules with a URL pattern."
            )
        ],
        responses={200: PolicySerializer, 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request, key: str):
        site = site_for_key(key)
        if site is None:
            return _error("unknown_site", "No site has this key; check the embed tag.", 404)
        if request.headers.get("Origin") and not site.allows_origin(request.headers["Origin"]):
            return _error(
                "foreign_origin", "This page's origin is not one of the site's origins.", 403
            )
        # Rules match the path only; the rest of the page's URL may hold tokens: drop it first.
        url = request.query_params.get("url", "")
        url = clean_url(url) or strip_query(url)[:2000]
        return self.cors(request, Response(policy_for_site(site, url)), site)

    def options(self, request, *args, **kwargs):
        return self.cors(request, Response(status=204), site_for_key(kwargs.get("key", "")))
