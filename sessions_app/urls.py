from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from sessions_app import api

urlpatterns = [
    path("sessions/", api.SessionListCreate.as_view()),
    path("sessions/<str:code>/", api.SessionDetail.as_view()),
    path("sessions/<str:code>/end/", api.SessionEnd.as_view()),
    path("sites/<str:key>/policy", api.SitePolicy.as_view()),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]
