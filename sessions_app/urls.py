from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from policies import api as policies_api
from sessions_app import api

router = DefaultRouter(trailing_slash=True)
router.register("sites", policies_api.SiteViewSet)
router.register("masking-rules", policies_api.MaskingRuleViewSet)
router.register("restriction-rules", policies_api.RestrictionRuleViewSet)

urlpatterns = [
    path("sessions/", api.SessionListCreate.as_view()),
    path("sessions/<str:code>/", api.SessionDetail.as_view()),
    path("sessions/<str:code>/end/", api.SessionEnd.as_view()),
    path("sites/<str:key>/policy", api.SitePolicy.as_view()),
    path("chats/", api.ChatCreate.as_view()),
    path("interactions/", api.Interactions.as_view()),
    path("interactions/<int:pk>/end/", api.InteractionEnd.as_view()),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    *router.urls,
]
