from django.urls import path

from sso import views

# Names the library reverses (the callback's redirect_uri).
urlpatterns = [
    path("authenticate/", views.SignIn.as_view(), name="oidc_authentication_init"),
    path("callback/", views.Callback.as_view(), name="oidc_authentication_callback"),
]
