from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from sessions_app import reports, views

# GET /healthz and /metrics are not routes: cobrowse.health.OpsMiddleware answers them first.
urlpatterns = [
    path("", views.home),
    path("workspace/", views.workspace, name="workspace"),
    path("supervisor/", views.supervisor, name="supervisor"),
    path("supervisor/<str:code>/end/", views.supervisor_end),
    path("reports/", reports.reports, name="reports"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("oidc/", include("sso.urls")),  # single sign-on (sso/)
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the header's switcher
    path("admin/", admin.site.urls),
    path("api/v1/", include("sessions_app.urls")),
    path("demo/", include("demo.urls")),
]
