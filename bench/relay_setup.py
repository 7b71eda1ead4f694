"""Seed a temp SQLite database for bench/relay.py (run with SQLITE_PATH set, after migrate).

    SQLITE_PATH=/tmp/x.sqlite3 .venv/bin/python bench/relay_setup.py N OUT.json ORIGIN [ORIGIN...]

Creates one Site with the given origins, N users in group Agents (unusable passwords), N waiting
co-browse sessions (through sessions_app.services.session_create) and one Django session cookie
per agent. Writes [{"code", "token", "cookie"}, ...] to OUT.json.
"""

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cobrowse.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import transaction  # noqa: E402

from policies.models import Site  # noqa: E402
from sessions_app.models import AGENTS_GROUP  # noqa: E402
from sessions_app.services import session_create  # noqa: E402

BACKEND = "django.contrib.auth.backends.ModelBackend"


def main(n: int, out: str, origins: list[str]) -> None:
    t0 = time.monotonic()
    User = get_user_model()
    with transaction.atomic():
        group, _ = Group.objects.get_or_create(name=AGENTS_GROUP)
        site = Site(name="Bench site", allowed_origins="\n".join(origins))
        site.full_clean()
        site.save()
        users = []
        for i in range(n):
            user = User(username=f"bench-agent-{i}", first_name="Bench", last_name=f"Agent {i}")
            user.set_unusable_password()
            users.append(user)
        User.objects.bulk_create(users)
        users = list(User.objects.filter(username__startswith="bench-agent-").order_by("id"))
        group.user_set.add(*users)
        rows = []
        for user in users:
            session, token = session_create(site=site, url=origins[0] + "/bench/")
            store = SessionStore()
            store["_auth_user_id"] = str(user.pk)
            store["_auth_user_backend"] = BACKEND
            store["_auth_user_hash"] = user.get_session_auth_hash()
            store.create()
            rows.append({"code": session.code, "token": token, "cookie": store.session_key})
    Path(out).write_text(json.dumps(rows))
    print(f"seeded {n} agents and sessions in {time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3:])
