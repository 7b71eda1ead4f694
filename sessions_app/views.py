from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

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
    return render(
        request,
        "workspace/workspace.html",
        {"current_session": current.to_dict() if current else None},
    )
