"""Single sign-on's two pages: /oidc/authenticate/ sends the browser to the provider (with state,
nonce and a PKCE challenge kept in the session), /oidc/callback/ takes it back. Both 404 when
single sign-on is off. Every refusal lands on the login page with a message, never an error page."""

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext_lazy as _
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from sso.oidc import ProviderUnavailable, provider_metadata

logger = logging.getLogger("sso")

LOGIN_PAGE = "/accounts/login/"
UNAVAILABLE = _(
    "Single sign-on is not available right now: the identity provider cannot be reached. "
    "Try again in a minute, or ask an administrator."
)
NOT_SIGNED_IN = _(
    "Single sign-on did not sign you in. Start again with “Sign in with single sign-on”; "
    "if it keeps failing, ask an administrator."
)


def _refuse_unless_enabled() -> None:
    if not settings.OIDC_ENABLED:
        raise Http404("single sign-on is off")


class SignIn(OIDCAuthenticationRequestView):
    def __init__(self, **kwargs) -> None:
        # Not the library's __init__, which wants the endpoint in settings: it is discovered.
        View.__init__(self, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request: HttpRequest) -> HttpResponse:
        _refuse_unless_enabled()
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_metadata()["authorization_endpoint"]
        except ProviderUnavailable:
            messages.error(request, UNAVAILABLE)
            return HttpResponseRedirect(LOGIN_PAGE)
        return super().get(request)


class Callback(OIDCAuthenticationCallbackView):
    @property
    def failure_url(self) -> str:
        return LOGIN_PAGE

    def get(self, request: HttpRequest) -> HttpResponse:
        _refuse_unless_enabled()
        issuer = request.GET.get("iss")
        if issuer is not None and issuer != settings.OIDC_OP_ISSUER:
            # RFC 9207: an answer from another provider than the one we sent the browser to.
            logger.warning("single sign-on refused: callback from issuer %r", issuer)
            return self.login_failure()
        try:
            return super().get(request)
        except SuspiciousOperation as e:
            # A state this browser never started (a forged or replayed callback), or a token
            # that failed verification.
            logger.warning("single sign-on refused: %s", e)
        except ProviderUnavailable:
            logger.warning("single sign-on refused: the provider is unavailable")
        return self.login_failure()

    def login_failure(self) -> HttpResponse:
        messages.error(self.request, NOT_SIGNED_IN)
        return HttpResponseRedirect(self.failure_url)
