"""The test OpenID Connect provider (tests/oidc/provider.mjs, the `oidc-provider` package) as a
subprocess on loopback, with its accounts in a file the tests rewrite and a signing key the tests
hold too (so that they can sign tokens of their own with the provider's key)."""

import json
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.processes import stop, wait_until_answers
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "oidc" / "provider.mjs"
CLIENT_ID = "cobrowse"
CLIENT_SECRET = "cobrowse-client-secret-for-tests"
KEY_ID = "test-key"


def account(username: str, *groups: str, sub: str = "", password: str = "", **claims) -> dict:
    """An account at the provider; its password is `<username>-idp-pass` unless given."""
    return {
        "username": username,
        "password": password or f"{username}-idp-pass",
        "sub": sub or f"sub-{username}",
        "claims": {"preferred_username": username, "groups": list(groups), **claims},
    }


class OIDCProvider:
    def __init__(self, tmp: Path, *, redirect_uris: list[str], log: Path | None = None):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.redirect_uris = redirect_uris
        self.accounts_path = tmp / "idp-accounts.json"
        self.jwks_path = tmp / "idp-jwks.json"
        self.log_path = log or tmp / "idp.log"
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.signing_key))
        self.jwks_path.write_text(
            json.dumps({"keys": [{**jwk, "kid": KEY_ID, "alg": "RS256", "use": "sig"}]})
        )
        self.set_accounts()
        self.proc: subprocess.Popen | None = None

    def set_accounts(self, *accounts: dict) -> None:
        """Who can sign in at the provider, and their claims (read at every sign-in)."""
        self.accounts_path.write_text(json.dumps(list(accounts)))

    def start(self) -> None:
        args = ["node", str(SCRIPT), "--port", str(self.port), "--accounts"]
        args += [str(self.accounts_path), "--jwks", str(self.jwks_path)]
        args += ["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]
        for uri in self.redirect_uris:
            args += ["--redirect-uri", uri]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        discovery = self.issuer + "/.well-known/openid-configuration"
        wait_until_answers(discovery, self.proc, what="the provider", seconds=20, log=self.log_path)

    def stop(self) -> None:
        stop(self.proc)
