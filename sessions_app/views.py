from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from policies.selectors import all_site_origins
from sessions_app import services
from sessions_app.audit import staff_actor
from sessions_app.i18n import supervisor_catalog, workspace_catalog
from sessions_app.models import CobrowseSession, is_agent, is_supervisor
from sessions_app.realtime import announce_end_sync


def _refuse_unless_supervisor(request: HttpRequest) -> HttpResponse | None:
    if is_supervisor(request.user):
        return None
    return render(request, "supervisor/not_supervisor.html", status=403)


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and is_agent(request.user):
        return redirect("/workspace/")
    return render(request, "home.html")


@login_required
def workspace(request: HttpRequest) -> HttpResponse:
    if not is_agent(request.user):
        return render(
            request,
            "workspace/not_agent.html",
            {"is_supervisor": is_supervisor(request.user)},
            status=403,
        )
    current = CobrowseSession.objects.active_for(request.user)
    response = render(
        request,
        "workspace/workspace.html",
        {
            "current_session": current.to_dict() if current else None,
            "nav_supervisor": is_supervisor(request.user),
            "i18n": workspace_catalog(),  # what workspace.js writes, in the page's language
        },
    )
    response["Content-Security-Policy"] = workspace_csp()
    return response


@login_required
@require_GET
def supervisor(request: HttpRequest) -> HttpResponse:
    if refusal := _refuse_unless_supervisor(request):
        return refusal
    services.session_expire_stale()
    live = CobrowseSession.objects.live().select_related("site", "agent", "interaction")
    response = render(
        request,
        "supervisor/sessions.html",
        {"sessions": live[:200], "nav_supervisor": True, "i18n": supervisor_catalog()},
    )
    response["Content-Security-Policy"] = workspace_csp()
    return response


@login_required
@require_POST
def supervisor_end(request: HttpRequest, code: str) -> HttpResponse:
    if refusal := _refuse_unless_supervisor(request):
        return refusal
    session = CobrowseSession.objects.by_code(code)
    if session is None:
        messages.error(request, _("That session had already ended."))
        return redirect("/supervisor/")
    reason = CobrowseSession.EndReason.ENDED_BY_STAFF
    session = services.session_end(session=session, reason=reason, by=staff_actor(request.user))
    announce_end_sync(session.pk, reason)
    messages.success(
        request,
        _("Session %(code)s ended; both sides were told.") % {"code": session.code_display},
    )
    return redirect("/supervisor/")


def workspace_csp() -> str:
    """No script runs in the workspace but our own; the mirror (same document policy) may load
    frames, images, fonts and media from this server and the customer sites, nothing else.

    Every fetch directive is written out rather than left to default-src, so that the agent's
    browser fetches nothing from a host the customer's page names. The origins are all sites' (one
    header for the whole workspace, whichever session it shows). Only directives Chromium knows.
    """
    sites = " ".join(sorted(all_site_origins()))
    own = f"'self' {sites}".strip()
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            # rrweb rebuilds the customer's stylesheets as inline <style> in the mirror.
            "style-src 'self' 'unsafe-inline'",
            f"img-src {own} data: blob:",
            f"font-src {own} data:",
            f"media-src {own} blob:",
            f"frame-src {own}",
            f"child-src {own}",
            "fenced-frame-src 'none'",
            "worker-src 'none'",
            "manifest-src 'none'",
            "connect-src 'self'",
        ]
    )
