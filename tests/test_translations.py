"""The workspace, supervisor page, login and admin in English, German, French and Spanish: every
message of the sources has a translation in every catalog (the build fails otherwise), pages and
sockets follow the agent's language, plurals are right in each language (issue 16, item 2)."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import translation

from cobrowse.asgi import application
from sessions_app import services
from sessions_app.i18n import supervisor_catalog, workspace_catalog
from sessions_app.models import CobrowseSession, Interaction
from sessions_app.services import ServiceError

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "locale"
LANGUAGES = ("de", "fr", "es")
ORIGIN = "https://shop.example.com"
# What a copy of the sources for makemessages leaves out (besides caches, .git and .venv): none of
# it holds our messages.
NOT_SOURCES = ("node_modules", "static", "staticfiles", "test-artifacts", "bench")


def logged_in(user, **headers) -> Client:
    client = Client(headers=headers)
    client.force_login(user)
    return client


def entries(po: Path, *options: str) -> list[str]:
    """The msgids of a catalog that gettext's msgattrib selects (--untranslated, --only-fuzzy)."""
    result = subprocess.run(
        ["msgattrib", *options, "--no-wrap", str(po)], capture_output=True, text=True, check=True
    )
    ids = re.findall(r'^msgid "(.+)"$', result.stdout, flags=re.M)
    return [msgid for msgid in ids if msgid]  # not the header


# The catalogs


@pytest.fixture(scope="module")
def fresh_catalogs(tmp_path_factory) -> Path:
    """locale/ as makemessages leaves it after reading today's sources, in a copy of the project
    (the checkout is not touched): a message added or changed since the catalogs were last
    translated shows up there untranslated or fuzzy."""
    copy = tmp_path_factory.mktemp("sources") / "project"
    shutil.copytree(
        ROOT,
        copy,
        ignore=lambda folder, names: [
            n
            for n in names
            if n in NOT_SOURCES
            or (Path(folder) == ROOT and n.startswith("."))
            or n == "__pycache__"
            or n.endswith((".mo", ".sqlite3", ".pyc"))
            or (Path(folder) == ROOT and n.startswith("test-db-"))
        ],
    )
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            *[f"-l{lang}" for lang in LANGUAGES],
            "--ignore=.venv",
            "--ignore=node_modules",
            "--ignore=static",
            "--no-obsolete",
        ],
        cwd=copy,
        env={
            "PATH": "/usr/bin:/bin",
            "DEBUG": "true",
            "DJANGO_SETTINGS_MODULE": "cobrowse.settings",
        },
        capture_output=True,
        check=True,
        timeout=120,
    )
    return copy / "locale"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_of_the_sources_is_translated(fresh_catalogs, lang):
    po = fresh_catalogs / lang / "LC_MESSAGES" / "django.po"
    missing = entries(po, "--untranslated")
    assert not missing, (
        f"{lang}: {len(missing)} message(s) without a translation; run makemessages (docs/"
        f"configuration.md, Languages) and translate them: {missing[:10]}"
    )
    fuzzy = entries(po, "--only-fuzzy")
    assert not fuzzy, f"{lang}: fuzzy translations to check and unmark: {fuzzy[:10]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_checked_in_catalog_is_complete_and_its_placeholders_match(lang):
    po = LOCALE / lang / "LC_MESSAGES" / "django.po"
    assert not entries(po, "--untranslated") and not entries(po, "--only-fuzzy")
    # msgfmt --check: every %(name)s and {name} of a message is in its translation, and back.
    checked = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert "fuzzy" not in checked.stderr and "untranslated" not in checked.stderr


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_compiled_catalog_is_current(lang):
    po = LOCALE / lang / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, (
        f"{mo} is missing or older than its .po: scripts/install.sh compiles it "
        "(manage.py compilemessages)"
    )


# Pages


def test_the_workspace_is_german_for_a_german_browser(agent):
    page = logged_in(agent, accept_language="de-DE,de;q=0.9,en;q=0.5").get("/workspace/")
    html = page.content.decode()
    assert '<html lang="de">' in html
    assert ">Co-Browsing beitreten</button>" in html
    assert '<label for="session-id">Sitzungs-ID</label>' in html
    assert ">Sitzung verlassen</button>" in html
    assert "Join co-browse" not in html
    # What workspace.js writes itself comes in the page, in German too.
    script = re.search(r'<script id="i18n" type="application/json">(.*?)</script>', html, re.S)
    assert script is not None
    catalog = json.loads(script[1])
    assert catalog["status.live"] == "Live"
    assert catalog["status.loading"] == "Seite des Kunden wird geladen…"
    assert catalog["inbox.waiting_count"] == {
        "one": "%(count)s wartet",
        "many": "%(count)s warten",
        "other": "%(count)s warten",
    }


def test_without_a_language_it_speaks_english_and_an_unknown_one_falls_back_to_english(agent):
    for accept in (None, "ja-JP,ja;q=0.9"):
        headers = {"accept_language": accept} if accept else {}
        page = logged_in(agent, **headers).get("/workspace/").content.decode()
        assert '<html lang="en">' in page and ">Join co-browse</button>" in page


def test_the_language_chosen_in_the_header_wins_over_the_browsers(agent):
    client = logged_in(agent, accept_language="de")
    chosen = client.post("/i18n/setlang/", {"language": "fr", "next": "/workspace/"})
    assert chosen.status_code == 302 and chosen["Location"] == "/workspace/"
    page = client.get("/workspace/").content.decode()
    assert '<html lang="fr">' in page and ">Rejoindre</button>" in page
    # The switcher names each language in its own language and marks the current one.
    assert '<option value="fr" lang="fr" selected>Français</option>' in page
    assert '<option value="de" lang="de">Deutsch</option>' in page


def test_the_login_page_and_the_admin_speak_spanish(administrator, site):
    login = Client(headers={"accept_language": "es"}).get("/accounts/login/").content.decode()
    assert "<h1>Iniciar sesión</h1>" in login and ">Contraseña</label>" in login
    admin = logged_in(administrator, accept_language="es")
    page = admin.get("/admin/policies/site/").content.decode()
    assert "Sitios y políticas de privacidad" in page  # the app, in the breadcrumbs
    assert "<span>Orígenes</span>" in page  # a column of ours
    services.session_create(site=site)  # the list shows its actions once it has a row
    sessions = admin.get("/admin/sessions_app/cobrowsesession/").content.decode()
    assert "Terminar las sesiones en curso seleccionadas" in sessions


def test_a_supervisor_reads_statuses_and_counts_in_french(site, agent, supervisor):
    services.session_create(site=site)
    session, _ = services.session_create(site=site)
    services.session_join(agent=agent, code=session.code)
    page = logged_in(supervisor, accept_language="fr").get("/supervisor/").content.decode()
    assert "2 sessions en cours" in page
    assert ">en attente</span>" in page and ">active</span>" in page and "<td>pointeur</td>" in page
    assert ">Terminer</button>" in page


# Plurals: one, two (and the forms a language has besides)


@pytest.mark.parametrize(
    "lang, one, two",
    [
        ("en", "after 1 minute without", "after 2 minutes without"),
        ("de", "nach 1 Minute ohne", "nach 2 Minuten ohne"),
        ("fr", "après 1 minute sans", "après 2 minutes sans"),
        ("es", "tras 1 minuto sin", "tras 2 minutos sin"),
    ],
)
def test_a_wrong_session_id_names_the_minutes_in_the_singular_or_the_plural(
    agent, settings, lang, one, two
):
    for seconds, expected in ((60, one), (120, two)):
        settings.COBROWSE_WAITING_TIMEOUT = seconds
        with translation.override(lang), pytest.raises(ServiceError) as refused:
            services.session_join(agent=agent, code="000000000")
        assert refused.value.code == "session_not_found"  # codes never change
        assert expected in refused.value.message


@pytest.mark.parametrize(
    "lang, counts",
    [
        ("de", {0: "0 laufende Sitzungen", 1: "1 laufende Sitzung", 2: "2 laufende Sitzungen"}),
        ("fr", {0: "0 session en cours", 1: "1 session en cours", 2: "2 sessions en cours"}),
        ("es", {0: "0 sesiones en curso", 1: "1 sesión en curso", 2: "2 sesiones en curso"}),
    ],
)
def test_the_browser_picks_the_plural_form_of_the_pages_language(lang, counts):
    """frontend/workspace/i18n.js with Node's Intl, on the catalog the page would carry."""
    with translation.override(lang):
        catalog = supervisor_catalog()
    script = (
        "import { translator } from "
        + json.dumps((ROOT / "frontend/workspace/i18n.js").as_uri())
        + "; const t = translator(JSON.parse(process.argv[1]), process.argv[2]);"
        + "console.log(JSON.stringify([0, 1, 2, 1000000].map(n => t('count', { count: n }))));"
    )
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script, json.dumps(catalog), lang],
        capture_output=True,
        text=True,
        check=True,
    )
    zero, one, two, million = json.loads(result.stdout)
    assert [zero, one, two] == [counts[0], counts[1], counts[2]]
    # Numbers are written the language's way, and a million takes the plural.
    assert (
        million
        == {
            "de": "1.000.000 laufende Sitzungen",
            "fr": "1\u202f000\u202f000 sessions en cours",
            "es": "1.000.000 sesiones en curso",
        }[lang]
    )


# The JavaScript catalogs


def js_keys(path: Path) -> tuple[set[str], set[str]]:
    """Keys the file passes to t(): whole ones, and prefixes it completes ("status." + s.status)."""
    source = path.read_text()
    keys: set[str] = set()
    for argument in re.findall(r"\bt\(([^(),]+)", source):
        keys.update(re.findall(r'"([^"]+)"', argument))
    return {k for k in keys if not k.endswith(".")}, {k for k in keys if k.endswith(".")}


def translations_of(lang: str) -> set[str]:
    """Every translation our compiled catalog holds for the language (plural forms included)."""
    import gettext

    with open(LOCALE / lang / "LC_MESSAGES" / "django.mo", "rb") as mo:
        return set(gettext.GNUTranslations(mo)._catalog.values())  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "script, build", [("workspace.js", workspace_catalog), ("supervisor.js", supervisor_catalog)]
)
def test_the_javascript_catalog_has_every_key_in_every_language(script, build):
    keys, prefixes = js_keys(ROOT / "frontend" / script)
    catalog = build()
    assert keys and not keys - catalog.keys(), f"{script} uses keys the catalog lacks"
    # Keys completed at run time: one per status, mode and channel the API can send.
    completions = {
        "status.": CobrowseSession.Status.values,
        "mode.": CobrowseSession.Mode.values,
        "channel.": Interaction.Channel.values,
    }
    for prefix in prefixes:
        assert {prefix + value for value in completions[prefix]} <= catalog.keys()
    for lang in LANGUAGES:
        ours = translations_of(lang)
        with translation.override(lang):
            localized = build()
        for key, value in localized.items():
            forms = value.values() if isinstance(value, dict) else [value]
            untranslated = [form for form in forms if form not in ours]
            assert not untranslated, f"{lang}: {key} is not translated: {untranslated}"


# Sockets: the agent's language, the customer's untouched


@database_sync_to_async
def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def agent_socket(
    user, path: str, *, language: str, cookie: str = ""
) -> WebsocketCommunicator:
    cookies = f"sessionid={await session_cookie(user)}" + (f"; {cookie}" if cookie else "")
    headers = [
        (b"origin", b"http://localhost"),
        (b"host", b"localhost"),
        (b"cookie", cookies.encode()),
        (b"accept-language", language.encode()),
    ]
    return WebsocketCommunicator(application, path, headers=headers)


@pytest.mark.django_db(transaction=True)
async def test_the_agents_socket_refuses_in_the_language_of_the_agents_browser(agent):
    ws = await agent_socket(agent, "/ws/agent/000000000/", language="de-DE,de;q=0.9")
    assert (await ws.connect())[0]
    frame = await ws.receive_json_from()
    assert frame["code"] == "session_not_found"
    assert frame["message"].startswith("Keine laufende Co-Browsing-Sitzung hat diese ID.")
    await ws.disconnect()
    # The language cookie (the header's switcher) wins over the browser, as on pages.
    ws = await agent_socket(
        agent, "/ws/agent/000000000/", language="de", cookie="django_language=es"
    )
    await ws.connect()
    frame = await ws.receive_json_from()
    assert frame["message"].startswith("Ninguna sesión de co-navegación en curso tiene este ID.")
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_german_agent_and_an_english_customer_each_read_their_own_language(
    site, agent, channel_layer_kind
):
    session, token = await database_sync_to_async(services.session_create)(
        site=site, url=ORIGIN + "/"
    )
    customer = WebsocketCommunicator(
        application, f"/ws/customer/?token={token}", headers=[(b"origin", ORIGIN.encode())]
    )
    assert (await customer.connect(timeout=5))[0]
    assert (await customer.receive_json_from(timeout=5))["type"] == "state"
    ws = await agent_socket(agent, f"/ws/agent/{session.code}/", language="de")
    assert (await ws.connect(timeout=5))[0]
    assert (await ws.receive_json_from(timeout=5))["type"] == "state"
    # Long after the connect, a refusal is still in German: the language holds for the socket.
    await ws.send_json_to({"type": "navigate", "action": "back"})
    refused = await ws.receive_json_from(timeout=5)
    assert refused["code"] == "wrong_mode"
    assert refused["message"].startswith("Die Sitzung ist im Zeigermodus")
    await ws.send_json_to({"type": "exit"})
    ended = await ws.receive_json_from(timeout=5)
    assert ended == {
        "type": "ended",
        "reason": "agent_exit",
        "message": "Der Agent hat das Co-Browsing beendet.",
    }
    frames = [await customer.receive_json_from(timeout=5) for _ in range(3)]
    told = next(f for f in frames if f["type"] == "ended")
    assert told["message"] == "The agent ended co-browsing."
    await customer.disconnect()
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_agents_inbox_answers_in_spanish(agent):
    ws = await agent_socket(agent, "/ws/inbox/", language="es-ES,es;q=0.9")
    assert (await ws.connect(timeout=5))[0]
    assert (await ws.receive_json_from(timeout=5))["type"] == "state"
    await ws.send_json_to({"type": "end", "id": 999999})
    error = await ws.receive_json_from(timeout=5)
    assert error["code"] == "chat_not_found"
    assert error["message"] == "Este chat o llamada no es suyo, o ya terminó."
    await ws.disconnect()
