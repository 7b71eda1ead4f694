"""Baseline (b): the `rrweb-relay` package (python-socketio) as an ASGI app, served by daphne.

    RRWEB_RELAY_SECRET=... .venv/bin/python -m daphne -b 127.0.0.1 -p PORT bench.rrweb_relay_app:application

Configured as its README shows: HS256 JWT handshake tokens, customers (role "customer") publish,
admins (role "admin") watch. rrweb-relay is installed into .venv only, not in requirements.txt.
"""

import os

from rrweb_relay import DJANGO_CUSTOMER_ADMIN, RelayConfig, SharedSecretJWTVerifier, mount

application = mount(
    None,
    config=RelayConfig(
        verifier=SharedSecretJWTVerifier(secret=os.environ["RRWEB_RELAY_SECRET"]),
        socketio_path="socket.io",
        role_policy=DJANGO_CUSTOMER_ADMIN,
    ),
)
