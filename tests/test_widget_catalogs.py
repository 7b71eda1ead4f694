"""The widget's catalogs (frontend/widget/i18n.js): complete in every language, plurals right,
the language picked from data-lang, then <html lang>, then English. Run with Node, as the build."""

import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE = ["node", "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON"]


def run_module(script: str):
    source = f'import * as i18n from "{ROOT / "frontend/widget/i18n.js"}";\n{script}'
    result = subprocess.run(
        [*NODE, "--input-type=module", "-e", source], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_catalog_check_passes_and_fails_the_build_on_a_missing_key(tmp_path):
    check = [*NODE, str(ROOT / "scripts/check-catalogs.mjs")]
    good = subprocess.run(check, capture_output=True, text=True, timeout=30)
    assert good.returncode == 0, good.stderr
    source = (ROOT / "frontend/widget/i18n.js").read_text()
    broken = tmp_path / "i18n.js"
    broken.write_text(re.sub(r'\n    chatSend: "Enviar",', "", source, count=1))
    bad = subprocess.run([*check, str(broken)], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1
    assert 'es: missing "chatSend"' in bad.stderr


def test_counts_take_the_right_plural_form_in_each_language():
    forms = run_module(
        "const out = {};"
        "for (const lang of ['en', 'de', 'fr', 'es']) {"
        "  const t = i18n.createTranslator(lang).t;"
        "  out[lang] = [0, 1, 2].map((count) => t('minutes', { count }));"
        "}"
        "console.log(JSON.stringify(out));"
    )
    assert forms["en"] == ["0 minutes", "1 minute", "2 minutes"]
    assert forms["de"] == ["0 Minuten", "1 Minute", "2 Minuten"]
    assert forms["fr"] == ["0 minute", "1 minute", "2 minutes"]  # French: 0 is singular
    assert forms["es"] == ["0 minutos", "1 minuto", "2 minutos"]


def test_the_language_is_the_embed_tags_then_the_pages_then_english():
    picked = run_module(
        "console.log(JSON.stringify(["
        "  i18n.pickLanguage('', 'de-AT'), i18n.pickLanguage('fr', 'de'),"
        "  i18n.pickLanguage('', 'ES'), i18n.pickLanguage('', 'ja'), i18n.pickLanguage('', ''),"
        "  i18n.pickLanguage('xx', 'fr_CA')]));"
    )
    assert picked == ["de", "fr", "es", "en", "en", "fr"]


def test_placeholders_are_filled_and_an_unknown_key_shows_itself():
    texts = run_module(
        "const t = i18n.createTranslator('fr').t;"
        "console.log(JSON.stringify([t('chatWith', { agent: 'Alice' }), t('no-such-key')]));"
    )
    assert texts == ["Chat avec Alice", "no-such-key"]
