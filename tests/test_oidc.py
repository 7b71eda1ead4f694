"""Single sign-on with OpenID Connect (sso/): the claim-to-role mapping as plain code, the
settings, and the whole sign-in against a real provider on loopback (tests/oidc/provider.mjs),
the provider's side driven over HTTP as a browser would and this side through Django's client."""

import html
import re
import time
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import jwt
import pytest
import requests
from django.contrib.auth.models import Group, User
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.test import Client

from sessions_app.models import AGENTS_GROUP, SUPERVISORS_GROUP
from sso.models import Identity
from sso.oidc import OIDCBackend, forget_provider_metadata
from sso.roles import Roles, claimed_groups, roles_for
from tests.oidc.provider import CLIENT_ID, CLIENT_SECRET, KEY_ID, OIDCProvider, account
from tests.support import evaluate_settings, free_port

CALLBACK = "http://testserver/oidc/callback/"

# The claim to role mapping.


def test_groups_are_read_from_a_list_claim():
    claims = {"groups": ["cc-agents", "staff", 7, None]}
    assert claimed_groups(claims, "groups") == {"cc-agents", "staff"}


def test_a_single_string_is_one_group():
    assert claimed_groups({"groups": "cc-agents"}, "groups") == {"cc-agents"}


@pytest.mark.parametrize("value", [None, 3, {"cc-agents": True}, [["cc-agents"]], True])
def test_a_claim_that_is_not_names_gives_no_groups(value):
    assert claimed_groups({"groups": value}, "groups") == set()
    assert claimed_groups({}, "groups") == set()


def test_a_dotted_name_reaches_into_nested_claims():
    claims = {"realm_access": {"roles": ["cc-agents"]}, "resource_access": "x"}
    assert claimed_groups(claims, "realm_access.roles") == {"cc-agents"}
    assert claimed_groups(claims, "resource_access.roles") == set()


def test_a_claim_named_by_a_url_is_found_as_it_is():
    claims = {"https://cobrowse.example.com/groups": ["cc-agents"]}
    assert claimed_groups(claims, "https://cobrowse.example.com/groups") == {"cc-agents"}


def test_group_names_match_exactly():
    mapping = {"agent_groups": ["CC Agents"], "supervisor_groups": []}
    assert roles_for({"CC Agents"}, **mapping) == Roles(agent=True, supervisor=False)
    assert roles_for({"cc agents", "CC  Agents", "CC Agents "}, **mapping) == Roles(False, False)


@pytest.mark.parametrize(
    "groups,roles",
    [
        ({"cc-agents"}, Roles(agent=True, supervisor=False)),
        ({"leads"}, Roles(agent=False, supervisor=True)),
        ({"cc-agents", "leads", "other"}, Roles(agent=True, supervisor=True)),
        ({"night-shift"}, Roles(agent=False, supervisor=False)),
        (set(), Roles(agent=False, supervisor=False)),
    ],
)
def test_each_role_comes_from_any_of_its_groups(groups, roles):
    mapping = {"agent_groups": ["cc-agents", "temps"], "supervisor_groups": ["leads"]}
    assert roles_for(groups, **mapping) == roles


# Settings.

ON = {
    "OIDC_OP_ISSUER": "https://login.example.com/realms/cc",
    "OIDC_RP_CLIENT_ID": "cobrowse",
    "OIDC_RP_CLIENT_SECRET": "s3cret",
    "OIDC_AGENT_GROUPS": "cc-agents, temps",
    "OIDC_SUPERVISOR_GROUPS": "",
}
OFF = dict.fromkeys(ON, "")


def test_single_sign_on_is_off_unless_configured():
    configured = evaluate_settings(**OFF)
    assert configured["OIDC_ENABLED"] is False
    assert "AUTHENTICATION_BACKENDS" not in configured  # Django's default: passwords only


def test_it_is_on_with_an_issuer_a_client_and_groups():
    configured = evaluate_settings(**ON)
    assert configured["OIDC_ENABLED"] is True
    assert configured["AUTHENTICATION_BACKENDS"] == [
        "django.contrib.auth.backends.ModelBackend",
        "sso.oidc.OIDCBackend",
    ]
    assert configured["OIDC_AGENT_GROUPS"] == ["cc-agents", "temps"]
    assert configured["OIDC_RP_SIGN_ALGO"] == "RS256"
    assert configured["OIDC_GROUPS_CLAIM"] == "groups"
    assert configured["OIDC_USE_PKCE"] is True


@pytest.mark.parametrize(
    "change,message",
    [
        ({"OIDC_RP_CLIENT_ID": ""}, "needs OIDC_RP_CLIENT_ID"),
        ({"OIDC_OP_ISSUER": ""}, "needs OIDC_OP_ISSUER"),
        ({"OIDC_RP_CLIENT_SECRET": ""}, "needs OIDC_RP_CLIENT_SECRET"),
        ({"OIDC_AGENT_GROUPS": " , "}, "OIDC_AGENT_GROUPS or OIDC_SUPERVISOR_GROUPS"),
        ({"OIDC_OP_ISSUER": "http://login.example.com"}, "http:// only on a loopback"),
        ({"OIDC_OP_ISSUER": "login.example.com"}, "is not an issuer"),
        ({"OIDC_OP_ISSUER": "https://login.example.com/?tenant=1"}, "is not an issuer"),
        ({"OIDC_RP_SIGN_ALGO": "none"}, "OIDC_RP_SIGN_ALGO must be one of"),
        ({"OIDC_RP_SCOPES": "email profile"}, "must include openid"),
        ({"OIDC_TIMEOUT": "0"}, "OIDC_TIMEOUT must be 1 or more"),
    ],
)
def test_a_half_or_unsafe_configuration_stops_the_server(change, message):
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        evaluate_settings(**{**ON, **change})


def test_prompt_is_sent_only_when_chosen():
    assert evaluate_settings(**ON)["OIDC_AUTH_REQUEST_EXTRA_PARAMS"] == {}
    chosen = evaluate_settings(**ON, OIDC_PROMPT="login")
    assert chosen["OIDC_AUTH_REQUEST_EXTRA_PARAMS"] == {"prompt": "login"}
    with pytest.raises(ImproperlyConfigured, match="OIDC_PROMPT must be one of"):
        evaluate_settings(**ON, OIDC_PROMPT="none")


def test_plain_http_is_allowed_for_a_provider_on_loopback_only():
    configured = evaluate_settings(**{**ON, "OIDC_OP_ISSUER": "http://127.0.0.1:9000"})
    assert configured["OIDC_OP_ISSUER"] == "http://127.0.0.1:9000"


def test_without_single_sign_on_its_pages_do_not_exist_and_the_login_page_does_not_offer_it(db):
    client = Client()
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
    page = client.get("/accounts/login/").content.decode()
    assert "single sign-on" not in page
    assert 'data-testid="login-submit"' in page


# Against the real provider.


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    idp = OIDCProvider(tmp_path_factory.mktemp("idp"), redirect_uris=[CALLBACK])
    idp.start()
    yield idp
    idp.stop()


@pytest.fixture
def sso(provider, settings, db):
    """Single sign-on on, as the settings above turn it on, with the provider's accounts:
    an agent, a supervisor and someone in neither group."""
    settings.OIDC_ENABLED = True
    settings.OIDC_OP_ISSUER = provider.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.OIDC_AGENT_GROUPS = ["cc-agents"]
    settings.OIDC_SUPERVISOR_GROUPS = ["cc-leads"]
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "sso.oidc.OIDCBackend",
    ]
    provider.set_accounts(
        account("ada", "cc-agents", email="ada@example.com", given_name="Ada", family_name="L"),
        account("lead", "cc-leads"),
        account("pat", "night-shift"),
    )
    forget_provider_metadata()
    yield provider
    forget_provider_metadata()


def at_provider(
    authorization_url: str, username: str, *, browser: requests.Session | None = None
) -> str:
    """Sign in at the provider as a browser would (a new one unless given, with `asked` counting
    the login forms it was shown); the callback URL the provider sends it back to."""
    browser = browser or requests.Session()
    browser.asked = 0
    url, data = authorization_url, None
    for _ in range(10):
        if data is None:
            response = browser.get(url, allow_redirects=False, timeout=10)
        else:
            response = browser.post(url, data=data, allow_redirects=False, timeout=10)
        if response.is_redirect:
            url, data = urljoin(url, response.headers["Location"]), None
            if url.startswith(CALLBACK):
                return url
        elif response.status_code == 200 and 'name="username"' in response.text:
            action = re.search(r'<form method="post" action="([^"]+)"', response.text)
            assert action, response.text
            url = urljoin(url, html.unescape(action.group(1)))
            data = {"username": username, "password": f"{username}-idp-pass"}
            browser.asked += 1
        else:
            raise AssertionError(f"provider answered {response.status_code}: {response.text}")
    raise AssertionError("the provider never sent the browser back")


def start(client: Client, next_url: str = "/workspace/") -> str:
    response = client.get("/oidc/authenticate/?" + urlencode({"next": next_url}))
    assert response.status_code == 302
    return response["Location"]


def sign_in(client: Client, username: str, *, next_url: str = "/workspace/"):
    """The whole sign-in: start here, sign in at the provider, come back; the final response."""
    return client.get(at_provider(start(client, next_url), username))


def test_the_login_page_offers_single_sign_on_when_it_is_on(sso):
    page = Client().get("/accounts/login/?next=/supervisor/").content.decode()
    assert "Sign in with single sign-on" in page
    assert '<form method="get" action="/oidc/authenticate/">' in page
    assert '<input type="hidden" name="next" value="/supervisor/">' in page
    assert 'data-testid="login-submit"' in page  # passwords still work


def test_the_sign_in_request_carries_state_nonce_and_a_pkce_challenge(sso):
    client = Client()
    location = urlsplit(start(client))
    assert f"{location.scheme}://{location.netloc}" == sso.issuer
    query = {name: values[0] for name, values in parse_qs(location.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == CALLBACK
    assert query["scope"] == "openid email profile groups"
    assert query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert len(query["code_challenge"]) == 43  # base64url of a SHA-256
    kept = client.session["oidc_states"][query["state"]]
    assert kept["nonce"] == query["nonce"] and len(kept["code_verifier"]) == 64


def test_an_agent_signs_in_and_lands_in_the_workspace(sso):
    client = Client()
    response = sign_in(client, "ada")
    assert response.status_code == 302 and response["Location"] == "/workspace/"
    assert client.get("/workspace/").status_code == 200
    user = User.objects.get(sso_identity__subject="sub-ada", sso_identity__issuer=sso.issuer)
    assert user.username == "ada"
    assert (user.first_name, user.last_name, user.email) == ("Ada", "L", "ada@example.com")
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == [AGENTS_GROUP]
    assert not user.is_staff and not user.is_superuser
    assert user.sso_identity.last_sign_in is not None


def test_a_supervisor_group_gives_the_supervisor_role(sso):
    client = Client()
    assert sign_in(client, "lead", next_url="/supervisor/")["Location"] == "/supervisor/"
    assert client.get("/supervisor/").status_code == 200
    assert client.get("/workspace/").status_code == 403  # not an agent


def test_someone_in_neither_group_is_signed_in_and_told_they_are_not_an_agent(sso):
    client = Client()
    assert sign_in(client, "pat")["Location"] == "/workspace/"
    response = client.get("/workspace/")
    assert response.status_code == 403
    assert "The Agent Workspace is for agents" in response.content.decode()
    assert not User.objects.get(username="pat").groups.exists()


def test_a_group_removed_at_the_provider_removes_the_role_at_the_next_sign_in(sso):
    sso.set_accounts(account("ada", "cc-agents", "cc-leads"))
    client = Client()
    sign_in(client, "ada")
    user = User.objects.get(username="ada")
    user.groups.add(Group.objects.create(name="Night shift"))  # not a role: the provider's no say
    assert set(user.groups.values_list("name", flat=True)) == {
        AGENTS_GROUP,
        SUPERVISORS_GROUP,
        "Night shift",
    }

    sso.set_accounts(account("ada", "cc-leads"))
    client.post("/accounts/logout/")
    sign_in(client, "ada")
    assert set(user.groups.values_list("name", flat=True)) == {SUPERVISORS_GROUP, "Night shift"}
    assert client.get("/workspace/").status_code == 403

    sso.set_accounts(account("ada"))
    sign_in(Client(), "ada")
    assert set(user.groups.values_list("name", flat=True)) == {"Night shift"}
    assert User.objects.filter(username__startswith="ada").count() == 1


def test_users_are_found_by_sub_never_by_username_or_email(sso):
    local = User.objects.create_user("ada", email="ada@example.com", password="local-pass")
    local.groups.add(Group.objects.get_or_create(name=SUPERVISORS_GROUP)[0])
    sign_in(Client(), "ada")
    signed_in = User.objects.get(sso_identity__subject="sub-ada")
    assert signed_in != local and signed_in.username.startswith("ada-")
    assert not hasattr(User.objects.get(pk=local.pk), "sso_identity")
    assert local.check_password("local-pass")

    # Another provider account calling itself "ada" is someone else again.
    sso.set_accounts(account("ada", "cc-agents", sub="sub-impostor", email="ada@example.com"))
    client = Client()
    sign_in(client, "ada")
    impostor = User.objects.get(sso_identity__subject="sub-impostor")
    assert impostor not in (local, signed_in)
    assert client.session["_auth_user_id"] == str(impostor.pk)


def test_an_administrator_links_an_existing_user_to_a_provider_account(sso):
    local = User.objects.create_user("ada.lovelace", password="local-pass")
    Identity.objects.create(user=local, issuer=sso.issuer, subject="sub-ada")
    client = Client()
    sign_in(client, "ada")
    assert client.session["_auth_user_id"] == str(local.pk)
    assert local.groups.filter(name=AGENTS_GROUP).exists()
    assert User.objects.count() == 1
    assert local.check_password("local-pass")  # and passwords still work for them
    assert Client().login(username="ada.lovelace", password="local-pass")


def test_password_login_still_works_with_single_sign_on_on(sso, agent):
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "alice-pass", "next": "/workspace/"}
    )
    assert response["Location"] == "/workspace/"
    assert client.get("/workspace/").status_code == 200


def test_a_callback_this_browser_did_not_start_is_refused(sso):
    victim, attacker = Client(), Client()
    callback = at_provider(start(attacker), "pat")  # the attacker's own sign-in, handed over
    response = victim.get(callback, follow=True)
    assert response.redirect_chain[0] == ("/accounts/login/", 302)
    assert "Single sign-on did not sign you in" in response.content.decode()
    assert "_auth_user_id" not in victim.session

    started = Client()
    start(started)  # a sign-in of its own, with another state
    assert (
        "Single sign-on did not sign you in" in started.get(callback, follow=True).content.decode()
    )
    assert "_auth_user_id" not in started.session
    assert not User.objects.exists()


def test_a_tampered_state_is_refused_and_the_real_one_still_works(sso):
    client = Client()
    callback = at_provider(start(client), "ada")
    query = parse_qs(urlsplit(callback).query)
    state = query["state"][0]
    tampered = {**query, "state": [state[:-1] + ("y" if state.endswith("x") else "x")]}
    response = client.get("/oidc/callback/?" + urlencode(tampered, doseq=True), follow=True)
    assert "Single sign-on did not sign you in" in response.content.decode()
    assert "_auth_user_id" not in client.session

    assert client.get(callback)["Location"] == "/workspace/"
    assert client.session["_auth_user_id"] == str(User.objects.get(username="ada").pk)


def test_a_callback_cannot_be_replayed(sso):
    client = Client()
    callback = at_provider(start(client), "ada")
    assert client.get(callback)["Location"] == "/workspace/"
    client.post("/accounts/logout/")
    response = client.get(callback, follow=True)
    assert "Single sign-on did not sign you in" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_callback_naming_another_issuer_is_refused(sso):
    client = Client()
    callback = at_provider(start(client), "ada")
    assert parse_qs(urlsplit(callback).query)["iss"] == [sso.issuer]  # RFC 9207
    forged = callback.replace(
        "iss=" + requests.utils.quote(sso.issuer, safe=""),
        "iss=" + requests.utils.quote("https://evil.example.com", safe=""),
    )
    assert forged != callback
    client.get(forged)
    assert "_auth_user_id" not in client.session


def test_the_provider_asks_for_the_password_again_only_with_prompt_login(sso, settings):
    browser = requests.Session()
    client = Client()
    client.get(at_provider(start(client), "ada", browser=browser))
    assert browser.asked == 1
    client.post("/accounts/logout/")
    client.get(at_provider(start(client), "ada", browser=browser))
    assert browser.asked == 0  # still signed in at the provider: single sign-on
    assert client.session["_auth_user_id"]

    settings.OIDC_AUTH_REQUEST_EXTRA_PARAMS = {"prompt": "login"}  # OIDC_PROMPT=login
    client.post("/accounts/logout/")
    authorization = start(client)
    assert parse_qs(urlsplit(authorization).query)["prompt"] == ["login"]
    client.get(at_provider(authorization, "ada", browser=browser))
    assert browser.asked == 1
    assert client.session["_auth_user_id"]


def test_a_user_deactivated_in_admin_is_signed_out_at_the_next_request(sso):
    client = Client()
    sign_in(client, "ada")
    assert client.get("/workspace/").status_code == 200
    User.objects.filter(username="ada").update(is_active=False)
    assert client.get("/workspace/")["Location"] == "/accounts/login/?next=/workspace/"


def test_a_deactivated_user_is_not_signed_in(sso):
    sign_in(Client(), "ada")
    User.objects.filter(username="ada").update(is_active=False)
    client = Client()
    response = sign_in(client, "ada")
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_a_provider_that_names_another_issuer_is_not_used(sso, settings):
    # The same provider reached by another name: its discovery document names 127.0.0.1.
    settings.OIDC_OP_ISSUER = sso.issuer.replace("127.0.0.1", "localhost")
    response = Client().get("/oidc/authenticate/", follow=True)
    assert response.redirect_chain == [("/accounts/login/", 302)]
    assert "Single sign-on is not available right now" in response.content.decode()


def test_an_unreachable_provider_sends_the_user_back_to_the_login_page(sso, settings):
    settings.OIDC_OP_ISSUER = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    response = Client().get("/oidc/authenticate/", follow=True)
    assert response.status_code == 200
    assert "Single sign-on is not available right now" in response.content.decode()
    assert 'data-testid="login-submit"' in response.content.decode()


# The ID token, as the backend verifies it (signed here with the provider's own key, which the
# provider publishes at its jwks_uri).


def id_token(provider: OIDCProvider, *, key=None, algorithm="RS256", headers=None, **changes):
    now = int(time.time())
    claims = {
        "iss": provider.issuer,
        "aud": CLIENT_ID,
        "sub": "sub-ada",
        "iat": now,
        "exp": now + 300,
        "nonce": "the-nonce",
        **changes,
    }
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(
        claims,
        provider.signing_key if key is None else key,
        algorithm=algorithm,
        headers={"kid": KEY_ID} if headers is None else headers,
    )


def test_a_good_id_token_is_accepted(sso):
    payload = OIDCBackend().verify_token(id_token(sso), nonce="the-nonce")
    assert payload["sub"] == "sub-ada"


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "another-client"},
        {"aud": [CLIENT_ID, "another-client"]},  # several audiences and no azp of ours
        {"iss": "https://evil.example.com"},
        {"exp": int(time.time()) - 3600},
        {"nonce": "another-nonce"},
        {"nonce": None},
        {"exp": None},
        {"sub": None},
    ],
)
def test_an_id_token_with_a_wrong_claim_is_refused(sso, changes):
    with pytest.raises(SuspiciousOperation):
        OIDCBackend().verify_token(id_token(sso, **changes), nonce="the-nonce")


def test_an_id_token_for_several_audiences_with_our_azp_is_accepted(sso):
    token = id_token(sso, aud=[CLIENT_ID, "api"], azp=CLIENT_ID)
    assert OIDCBackend().verify_token(token, nonce="the-nonce")["azp"] == CLIENT_ID


def test_an_id_token_not_signed_by_the_providers_key_is_refused(sso):
    from cryptography.hazmat.primitives.asymmetric import rsa

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    unsigned = jwt.encode({"sub": "sub-ada"}, None, algorithm="none")
    forged = [
        id_token(sso, key=stranger),  # another key, the provider's key id
        id_token(sso, key=stranger, headers={"kid": "other"}),
        id_token(sso, key=CLIENT_SECRET, algorithm="HS256"),  # the secret as an HMAC key
        unsigned,
    ]
    for token in forged:
        with pytest.raises(SuspiciousOperation):
            OIDCBackend().verify_token(token, nonce="the-nonce")


def test_the_backend_signs_in_from_the_callback_only(sso, rf):
    request = rf.get("/accounts/login/?code=abc&state=def")
    assert OIDCBackend().authenticate(request, username="ada", password="x") is None


def test_userinfo_about_another_subject_is_not_used(sso):
    client = Client()
    callback = at_provider(start(client), "ada")
    query = {name: values[0] for name, values in parse_qs(urlsplit(callback).query).items()}
    verifier = client.session["oidc_states"][query["state"]]["code_verifier"]
    tokens = requests.post(
        sso.issuer + "/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=10,
    ).json()
    backend = OIDCBackend()
    nonce = client.session["oidc_states"][query["state"]]["nonce"]
    payload = backend.verify_token(tokens["id_token"], nonce=nonce)
    assert backend.get_or_create_user(tokens["access_token"], tokens["id_token"], payload)
    with pytest.raises(SuspiciousOperation, match="userinfo"):
        backend.get_or_create_user(
            tokens["access_token"], tokens["id_token"], {**payload, "sub": "sub-lead"}
        )
