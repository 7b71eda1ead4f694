"""The OpenID Connect relying party: the provider's endpoints from its discovery document, and
mozilla-django-oidc's authentication backend made strict about the ID token.

Endpoints are discovered at the first sign-in, not at start-up, so that an unreachable provider
never stops the server (password login and customers carry on), and kept for an hour.
"""

import logging
import threading
import time
from typing import Any, TypedDict
from urllib.parse import urlsplit

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from sso import services

logger = logging.getLogger("sso")

DISCOVERY_PATH = "/.well-known/openid-configuration"
DISCOVERY_TTL = 3600  # seconds
# Clock difference allowed between the provider and this server when checking exp and iat.
LEEWAY = 60


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read or is not one we can use."""


class ProviderMetadata(TypedDict):
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    end_session_endpoint: str  # empty when the provider has none


_lock = threading.Lock()
_cached: tuple[float, ProviderMetadata] | None = None


def provider_metadata() -> ProviderMetadata:
    """The provider's endpoints, read from OIDC_OP_ISSUER's discovery document."""
    global _cached
    with _lock:
        if _cached and time.monotonic() - _cached[0] < DISCOVERY_TTL:
            return _cached[1]
        try:
            metadata = _discover(settings.OIDC_OP_ISSUER)
        except ProviderUnavailable:
            if _cached:  # a provider briefly down keeps the endpoints it had
                logger.warning("single sign-on: discovery failed; keeping the known endpoints")
                return _cached[1]
            raise
        _cached = (time.monotonic(), metadata)
        return metadata


def forget_provider_metadata() -> None:
    global _cached
    with _lock:
        _cached = None


def _secure_enough(url: str, issuer: str) -> bool:
    """https, or http where the issuer itself is http (allowed for loopback only by settings)."""
    scheme = urlsplit(url).scheme
    return scheme == "https" or (scheme == "http" and urlsplit(issuer).scheme == "http")


def _discover(issuer: str) -> ProviderMetadata:
    url = issuer.rstrip("/") + DISCOVERY_PATH
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as e:
        logger.error("single sign-on: cannot read %s: %s", url, e)
        raise ProviderUnavailable(str(e)) from None
    if not isinstance(document, dict):
        raise ProviderUnavailable("the discovery document is not a JSON object")
    # OpenID Connect Discovery 1.0, section 4.3: the issuer must be exactly the one configured.
    if document.get("issuer") != issuer:
        logger.error(
            "single sign-on: %s names the issuer %r, not OIDC_OP_ISSUER %r",
            url,
            document.get("issuer"),
            issuer,
        )
        raise ProviderUnavailable("issuer mismatch")
    names = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
    for name in names:
        value = document.get(name)
        if not isinstance(value, str) or not _secure_enough(value, issuer):
            logger.error("single sign-on: %s has no usable %s (%r)", url, name, value)
            raise ProviderUnavailable(f"no usable {name}")
    algorithms = document.get("id_token_signing_alg_values_supported")
    if isinstance(algorithms, list) and settings.OIDC_RP_SIGN_ALGO not in algorithms:
        logger.error(
            "single sign-on: the provider signs ID tokens with %s, not OIDC_RP_SIGN_ALGO %s",
            ", ".join(map(str, algorithms)),
            settings.OIDC_RP_SIGN_ALGO,
        )
        raise ProviderUnavailable("signing algorithm not offered")
    end_session = document.get("end_session_endpoint")
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        userinfo_endpoint=document["userinfo_endpoint"],
        jwks_uri=document["jwks_uri"],
        end_session_endpoint=end_session
        if isinstance(end_session, str) and _secure_enough(end_session, issuer)
        else "",
    )


class OIDCBackend(OIDCAuthenticationBackend):
    """Signs users in from the authorization code flow's callback only (the callback view is the
    one caller that passes a nonce). The ID token must be signed with OIDC_RP_SIGN_ALGO by the
    provider's keys, name the issuer and this client, be current and carry the nonce; userinfo
    must be about the same `sub`. Users are found by issuer and `sub` (sso.services)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Not the library's __init__: it reads the endpoints from settings, and Django builds a
        # backend for every request of a signed-in user; the endpoints are only needed here.
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return provider_metadata()["token_endpoint"]

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return provider_metadata()["userinfo_endpoint"]

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return provider_metadata()["jwks_uri"]

    def authenticate(self, request, **kwargs):
        if request is None or "nonce" not in kwargs or not kwargs["nonce"]:
            return None  # a password login, or anything but the callback
        return super().authenticate(request, **kwargs)

    def get_user(self, user_id):
        # The library's does not look at is_active: a user deactivated in admin would stay
        # signed in (Django's ModelBackend logs them out at their next request; so do we).
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def retrieve_matching_jwk(self, token: str) -> jwt.PyJWK:
        header = jwt.get_unverified_header(token)
        try:
            response = requests.get(self.OIDC_OP_JWKS_ENDPOINT, timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
            keys = response.json()["keys"]
        except (requests.RequestException, ValueError, KeyError, TypeError) as e:
            raise SuspiciousOperation(f"cannot read the provider's keys: {e}") from None
        usable = [
            key
            for key in keys
            if isinstance(key, dict)
            and key.get("use", "sig") == "sig"
            and key.get("alg", header.get("alg")) == header.get("alg")
            and ("kid" not in header or key.get("kid") == header["kid"])
        ]
        # Without a kid in the token, only a provider with a single signing key is unambiguous.
        if len(usable) != 1:
            raise SuspiciousOperation("no single signing key of the provider matches the token")
        return jwt.PyJWK(usable[0])

    def verify_token(self, token: str, **kwargs: Any) -> dict:
        """The ID token (called with `nonce`) or a signed userinfo response, verified."""
        is_id_token = "nonce" in kwargs
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise SuspiciousOperation("the token is not a JWT") from None
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:  # never "none", never another family
            raise SuspiciousOperation(f"token signed with {header.get('alg')!r}")
        if self.OIDC_RP_SIGN_ALGO.startswith("HS"):
            key: Any = self.OIDC_RP_CLIENT_SECRET
        else:
            key = self.retrieve_matching_jwk(token)
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_OP_ISSUER,
                leeway=LEEWAY,
                options={"require": ["iss", "aud", "sub", "exp", "iat"] if is_id_token else []},
            )
        except jwt.PyJWTError as e:
            raise SuspiciousOperation(f"token refused: {e}") from None
        audience = payload.get("aud")
        if isinstance(audience, list) and len(audience) > 1:
            if payload.get("azp") != self.OIDC_RP_CLIENT_ID:  # Core 1.0, 3.1.3.7 item 5
                raise SuspiciousOperation("token for several audiences without our azp")
        if is_id_token and payload.get("nonce") != kwargs["nonce"]:
            raise SuspiciousOperation("ID token nonce does not match the sign-in")
        return payload

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict):
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload["sub"]:
            # Core 1.0, 5.3.2: userinfo about someone else must not be used.
            raise SuspiciousOperation("userinfo is not about the ID token's subject")
        # Some providers put the groups in the ID token only, others in userinfo only.
        claims = {**payload, **userinfo}
        return services.identity_sign_in(issuer=settings.OIDC_OP_ISSUER, claims=claims)

    def get_token(self, payload: dict) -> dict:
        try:
            return super().get_token(payload)
        except requests.RequestException as e:
            raise SuspiciousOperation(f"token request failed: {e}") from None

    def get_userinfo(self, access_token: str, id_token: str, payload: dict):
        try:
            return super().get_userinfo(access_token, id_token, payload)
        except (requests.RequestException, ValueError) as e:
            raise SuspiciousOperation(f"userinfo request failed: {e}") from None
