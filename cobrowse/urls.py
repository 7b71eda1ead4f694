from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from sessions_app import views

urlpatterns = [
    path("", views.home),
    path("workspace/", views.workspace, name="workspace"),
    path("supervisor/", views.supervisor, name="supervisor"),
    path("supervisor/<str:code>/end/", views.supervisor_end),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("sessions_app.urls")),
    path("demo/", include("demo.urls")),
]
