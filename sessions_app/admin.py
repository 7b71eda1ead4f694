import json

from django.contrib import admin, messages
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from sessions_app import services
from sessions_app.audit import staff_actor
from sessions_app.models import (
    AgentAction,
    AuditEntry,
    ChatMessage,
    CobrowseSession,
    Interaction,
    Purge,
    PurgedSession,
)
from sessions_app.realtime import announce_end_sync
from sessions_app.retention import subject_export


def _export_download(**selected) -> HttpResponse:
    """The data-subject export of the selected rows, as a JSON file to hand over."""
    export = subject_export(**selected)
    response = HttpResponse(
        json.dumps(export, indent=2, ensure_ascii=False), content_type="application/json"
    )
    name = f"subject-export-{timezone.now():%Y%m%d-%H%M%S}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class AgentActionInline(admin.TabularInline):
    model = AgentAction
    fields = ("created", "agent", "kind", "target", "node_id", "detail", "url")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AgentAction)
class AgentActionAdmin(admin.ModelAdmin):
    """The audit trail: what agents did to customers' pages (never what they typed)."""

    list_display = ("created", "session", "agent", "kind", "target", "detail", "url")
    list_filter = ("kind",)
    list_select_related = ("session", "agent")
    search_fields = ("session__code", "agent__username", "target", "url")
    date_hierarchy = "created"
    readonly_fields = [f.name for f in AgentAction._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CobrowseSession)
class CobrowseSessionAdmin(admin.ModelAdmin):
    list_display = (
        "code_display",
        "status",
        "mode",
        "site",
        "agent",
        "current_url",
        "viewport",
        "created",
        "ended_at",
        "end_reason",
    )
    list_filter = ("status", "mode", "site", "end_reason")
    list_select_related = ("site", "agent")
    search_fields = ("code", "agent__username", "current_url")
    date_hierarchy = "created"
    readonly_fields = [f.name for f in CobrowseSession._meta.fields] + ["audit_chain"]
    actions = ["end_sessions", "export_for_subject"]
    inlines = [AgentActionInline]

    def has_add_permission(self, request) -> bool:
        return False  # sessions start from the widget, never from admin

    @admin.display(description=_("Session ID"), ordering="code")
    def code_display(self, session: CobrowseSession) -> str:
        return session.code_display

    @admin.display(description=_("Viewport"))
    def viewport(self, session: CobrowseSession) -> str:
        if session.viewport_width and session.viewport_height:
            return f"{session.viewport_width}×{session.viewport_height}"
        return "-"

    @admin.display(description=_("Audit chain"))
    def audit_chain(self, session: CobrowseSession) -> str:
        # On the detail page only: it walks the whole chain, too slow for every row of the list.
        count = session.audit_entries.count()
        link = (
            reverse("admin:sessions_app_auditentry_changelist")
            + f"?session__id__exact={session.pk}"
        )
        broken = AuditEntry.objects.first_broken(session.pk)
        if broken is not None:
            return format_html(
                gettext(
                    '<strong style="color:#ba2121">Broken at seq {seq}</strong>: {problem} '
                    '(<a href="{link}">{count} entries</a>)'
                ),
                seq=broken.seq,
                problem=broken.problem_text,
                link=link,
                count=count,
            )
        return format_html(
            gettext('Verifies (<a href="{link}">{count} entries</a>)'), link=link, count=count
        )

    @admin.action(description=_("End the selected live sessions"))
    def end_sessions(self, request, queryset) -> None:
        count = 0
        for session in queryset.live():
            services.session_end(
                session=session,
                reason=CobrowseSession.EndReason.ENDED_BY_STAFF,
                by=staff_actor(request.user),
            )
            announce_end_sync(session.pk, CobrowseSession.EndReason.ENDED_BY_STAFF)
            count += 1
        ended = ngettext("Ended %(count)d session.", "Ended %(count)d sessions.", count)
        self.message_user(request, ended % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Export for a data-subject request (JSON)"))
    def export_for_subject(self, request, queryset) -> HttpResponse:
        return _export_download(sessions=queryset)


class ChatMessageInline(admin.TabularInline):
    model = ChatMessage
    fields = ("created", "sender", "text", "cobrowse_code")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class CobrowseSessionInline(admin.TabularInline):
    model = CobrowseSession
    fields = ("code", "status", "mode", "agent", "created", "ended_at", "end_reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "channel",
        "status",
        "customer_name",
        "agent",
        "external_id",
        "created",
        "ended_at",
        "ended_by",
    )
    list_filter = ("channel", "status")
    list_select_related = ("agent",)
    search_fields = ("customer_name", "external_id", "agent__username")
    readonly_fields = [f.name for f in Interaction._meta.fields if f.name != "customer_name"]
    inlines = [CobrowseSessionInline, ChatMessageInline]
    actions = ["export_for_subject"]

    @admin.action(description=_("Export for a data-subject request (JSON)"))
    def export_for_subject(self, request, queryset) -> HttpResponse:
        return _export_download(interactions=queryset)

    def has_add_permission(self, request) -> bool:
        return False  # chats start from the widget, calls from the telephony integration


@admin.register(ChatMessage)
class ChatMessageAdmin(admin.ModelAdmin):
    list_display = ("created", "interaction", "sender", "short_text")
    list_filter = ("sender",)
    list_select_related = ("interaction",)
    search_fields = ("text",)
    readonly_fields = [f.name for f in ChatMessage._meta.fields]

    @admin.display(description=_("Text"))
    def short_text(self, message: ChatMessage) -> str:
        return message.text[:80]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The tamper-evident audit log: read only, here as everywhere else."""

    list_display = ("created", "session", "seq", "actor", "kind", "detail", "short_hash")
    list_filter = ("kind",)
    list_select_related = ("session",)
    search_fields = ("session__code", "actor")
    date_hierarchy = "created"
    ordering = ("-created",)
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    @admin.display(description=_("Hash"))
    def short_hash(self, entry: AuditEntry) -> str:
        return entry.hash[:12]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class PurgedSessionInline(admin.TabularInline):
    model = PurgedSession
    fields = ("session_id", "code", "created", "ended_at", "audit_entries", "last_hash")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Purge)
class PurgeAdmin(admin.ModelAdmin):
    """What the retention purge (manage.py purge) deleted: read only, a record of deletions."""

    list_display = (
        "created",
        "site_name",
        "sessions",
        "audit_entries",
        "agent_actions",
        "chats",
        "chat_messages",
        "privacy_alerts",
        "sessions_ended_before",
        "chats_ended_before",
        "alerts_raised_before",
    )
    list_filter = ("site_name",)
    search_fields = ("site_name", "purged_sessions__code")
    date_hierarchy = "created"
    readonly_fields = [f.name for f in Purge._meta.fields]
    inlines = [PurgedSessionInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
