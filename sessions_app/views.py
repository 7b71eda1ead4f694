from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from policies.selectors import all_site_origins
from sessions_app.models import CobrowseSession, is_agent, is_supervisor


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
        {"current_session": current.to_dict() if current else None},
    )
    response["Content-Security-Policy"] = workspace_csp()
    return response


def workspace_csp() -> str:
    """No script runs in the workspace but our own; the mirror (same document policy) may load
    the customer sites' images, fonts and media, nothing else."""
    sites = " ".join(sorted(all_site_origins()))
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
            f"img-src 'self' data: blob: {sites}",
            f"font-src 'self' data: {sites}",
            f"media-src 'self' blob: {sites}",
            "connect-src 'self'",
        ]
    )
