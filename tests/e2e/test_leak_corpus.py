"""Leak corpus (issue 10): known secrets put into dozens of page patterns never leave the
customer's browser unmasked: not in any WebSocket frame (either page, either way), not in any
database row, not in the server's log; the customer's own page keeps every value, and the agent's
mirror shows only asterisks where a masked element is visible.

One table, one row per pattern: (name, html fragment, secrets, when, action). "when" is the moment
the action runs: before_start (before Start Co-browse), before_join (the ID is shown, no agent
yet: what the page holds then is in the agent's first snapshot) or after_join (the mirror shows
the page: what the page does then crosses as incremental events). Rows share a few sessions to
keep the run short: one page holds every independent pattern, one single-page app walks through
history changes in order, and a second run of the app navigates before the agent joins. Failures
are collected and reported together, row by row (also in test-artifacts/leak-corpus-report.txt).

Rerun on its own with: .venv/bin/pytest tests/e2e/test_leak_corpus.py -q -p no:cacheprovider
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.corpus import (
    READ_CUSTOMER_JS,
    READ_MIRROR_JS,
    Report,
    Routes,
    Wire,
    click_start,
    demo_site_key,
    end_session,
    ensure_rule,
    excerpt,
    ids_inside,
    locate,
    mirror_has,
    only_stars,
    page_html,
    serialized_trees,
    serve,
    sync,
)
from tests.e2e.helpers import ARTIFACTS, join, login, screenshot
from tests.e2e.test_leak_audit import database_rows

pytestmark = pytest.mark.e2e

PHASES = ("before_start", "before_join", "after_join")


@dataclass(frozen=True)
class Row:
    name: str
    html: str  # fragment placed on the session's page (wrapped in <div data-row=name>)
    secrets: tuple[str, ...]
    when: str  # the phase of `action`; a dict action names its phases itself
    action: tuple | dict = ()  # steps (see Run.steps), or {phase: steps}
    target: str | None = None  # path of the element holding the secret on the customer's page
    mirror: str | None = None  # "value" or "text": the mirror's element shows only '*'
    keeps: str | None = None  # JS expression on the customer's page instead of reading `target`
    session: str = "main"
    sync: str = "#sentinel"  # a plain field of the row's page, to know the mirror caught up
    choice: bool = False  # a radio/checkbox choice: no event may carry its inputs' node ids

    def phases(self) -> dict[str, tuple]:
        if isinstance(self.action, dict):
            return self.action
        return {self.when: self.action} if self.action else {}


def show_button(field_id: str) -> str:
    """A page's own "Show password" button, as on /demo/privacy/."""
    return (
        f'<button type="button" id="{field_id}-show" onclick="var f=document.getElementById('
        f"'{field_id}');f.type=f.type==='password'?'text':'password'\">Show</button>"
    )


def svg_url(text: str) -> str:
    return (
        "data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' width='60' height='16'>"
        f"<text x='1' y='12' font-size='10'>{text}</text></svg>"
    )


# Steps: ("fill"|"type"|"keys", path, text), ("click"|"check", path), ("select", path, value),
# ("js", "s => ...", arg?) (arg defaults to the row's first secret), ("wait", "() => predicate"),
# ("goto", path on the site), ("mirror", selector) (wait until the mirror has it).
SET_VALUE = "s => { document.querySelector('%s').value = s; }"
NATIVE_SET = (
    "s => { Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')"
    ".set.call(document.querySelector('%s'), s); }"
)

MAIN_ROWS = [
    # --- The 16 field kinds of test_leak_audit.py (TYPED, BY_SCRIPT, SECRETS) ----------------
    Row(
        "audit_rule_input",
        '<input id="a-rule" class="private-input">',
        ("LEAK01RULEINPUT",),
        "after_join",
        (("fill", "#a-rule", "LEAK01RULEINPUT"),),
        target="#a-rule",
        mirror="value",
    ),
    Row(
        "audit_password",
        '<input id="a-pw" type="password" autocomplete="current-password">',
        ("LEAK02PASSWORD",),
        "after_join",
        (("type", "#a-pw", "LEAK02PASSWORD"),),
        target="#a-pw",
        mirror="value",
    ),
    Row(
        "audit_password_toggled_after_join",  # typed, shown, typed on: all after the join
        '<input id="a-tog" type="password">' + show_button("a-tog"),
        ("LEAK03TOGGLEAJ",),
        "after_join",
        (
            ("type", "#a-tog", "LEAK03TOGGLEAJ"),
            ("click", "#a-tog-show"),
            ("type", "#a-tog", "MORE"),
        ),
        target="#a-tog",
        mirror="value",
    ),
    Row(
        "audit_textarea",
        '<textarea id="a-notes" class="private-input" placeholder="Medical notes"></textarea>',
        ("LEAK04TEXTAREA",),
        "after_join",
        (("fill", "#a-notes", "LEAK04TEXTAREA"),),
        target="#a-notes",
        mirror="value",
    ),
    Row(
        "audit_shadow_cc_number",
        '<div id="a-shadow" data-shadow=\'{"autocomplete": "cc-number"}\'></div>',
        ("LEAK05SHADOWCC",),
        "after_join",
        (("fill", "#a-shadow >>> input", "LEAK05SHADOWCC"),),
        target="#a-shadow >>> input",
        mirror="value",
    ),
    Row(
        "audit_field_added_later",
        '<div id="a-later-slot"></div>',
        ("LEAK06ADDEDLATER",),
        "after_join",
        (
            (
                "js",
                "() => { const i = document.createElement('input'); i.id = 'a-later';"
                " i.className = 'private-input';"
                " document.getElementById('a-later-slot').appendChild(i); }",
                None,
            ),
            ("fill", "#a-later", "LEAK06ADDEDLATER"),
        ),
        target="#a-later",
        mirror="value",
    ),
    Row(
        "audit_one_time_code",
        '<input id="a-otp" autocomplete="one-time-code" inputmode="numeric">',
        ("LEAK07OTP",),
        "after_join",
        (("fill", "#a-otp", "LEAK07OTP"),),
        target="#a-otp",
        mirror="value",
    ),
    Row(
        "audit_restricted_field",
        '<input id="a-restricted" class="restricted-field">',
        ("LEAK08RESTRICTED",),
        "after_join",
        (("fill", "#a-restricted", "LEAK08RESTRICTED"),),
        target="#a-restricted",
        mirror="value",
    ),
    Row(
        "audit_hidden_by_script",
        '<input type="hidden" id="a-hidden" name="token" value="">',
        ("LEAK09HIDDEN",),
        "after_join",
        (("js", SET_VALUE % "#a-hidden"),),
        target="#a-hidden",
    ),
    Row(
        "audit_value_by_script",
        '<input id="a-scripted" class="private-input">',
        ("LEAK10SCRIPTED",),
        "after_join",
        (("js", SET_VALUE % "#a-scripted"),),
        target="#a-scripted",
        mirror="value",
    ),
    Row(
        "audit_select",  # the chosen option's value and its label
        '<select id="a-select" class="private-input"><option value="">Choose</option>'
        '<option value="alpha">Alpha plan</option>'
        '<option value="LEAK11SELECTVALUE">LEAK11SELECTLABEL</option></select>',
        ("LEAK11SELECTVALUE", "LEAK11SELECTLABEL"),
        "after_join",
        (("select", "#a-select", "LEAK11SELECTVALUE"),),
        target="#a-select",
    ),
    Row(
        "audit_radio",
        '<label><input type="radio" class="private-input" name="a_radio" id="a-radio-a" '
        'value="LEAK12RADIOA"> Plan A</label> <label><input type="radio" class="private-input" '
        'name="a_radio" id="a-radio-b" value="LEAK12RADIOB"> Plan B</label>',
        ("LEAK12RADIOA", "LEAK12RADIOB"),
        "after_join",
        (("check", "#a-radio-b"),),
        keeps="(r => r.checked ? r.outerHTML + document.querySelector('#a-radio-a').outerHTML"
        " : 'not checked')(document.querySelector('#a-radio-b'))",
        choice=True,
    ),
    Row(
        "audit_checkbox",
        '<label><input type="checkbox" id="a-check" class="private-input" '
        'value="LEAK13CHECKBOX"> Checkbox</label>',
        ("LEAK13CHECKBOX",),
        "after_join",
        (("check", "#a-check"),),
        keeps="(c => c.checked ? c.value : 'not checked')(document.querySelector('#a-check'))",
        choice=True,
    ),
    Row(
        "audit_contenteditable",
        '<div id="a-edit" class="private-input" contenteditable="true" '
        'style="min-height:1em;border:1px solid #999"></div>',
        ("LEAK14EDITABLE",),
        "after_join",
        (("keys", "#a-edit", "LEAK14EDITABLE"),),
        target="#a-edit",
        mirror="text",
    ),
    Row(
        "audit_masked_text",  # also: text of a masked .private-text node changed after the join
        '<span id="a-text" class="private-text">nothing yet</span>',
        ("LEAK15MASKEDTEXT",),
        "after_join",
        (("js", "s => { document.getElementById('a-text').textContent = s; }"),),
        target="#a-text",
        mirror="text",
    ),
    Row(
        "audit_masked_image",  # its content (src) and its alt
        f'<img id="a-img" class="private-image" src="{svg_url("LEAK16IMAGESRC")}" '
        'alt="LEAK16IMAGEALT" width="60" height="16">',
        ("LEAK16IMAGESRC", "LEAK16IMAGEALT"),
        "before_start",
        target="#a-img",
    ),
    # --- A password shown as text, at every moment ------------------------------------------
    Row(
        "password_shown_before_start",  # typed and shown before Start Co-browse
        '<input id="t-bs" type="password">' + show_button("t-bs"),
        ("LEAK17SHOWNBEFORESTART",),
        "before_start",
        (("type", "#t-bs", "LEAK17SHOWNBEFORESTART"), ("click", "#t-bs-show")),
        target="#t-bs",
        mirror="value",
    ),
    Row(
        "password_shown_before_join",  # typed and shown while the ID is shown, no agent yet
        '<input id="t-bj" type="password">' + show_button("t-bj"),
        ("LEAK18SHOWNBEFOREJOIN",),
        "before_join",
        (("type", "#t-bj", "LEAK18SHOWNBEFOREJOIN"), ("click", "#t-bj-show")),
        target="#t-bj",
        mirror="value",
    ),
    Row(
        "password_shown_before_start_typed_after_join",
        '<input id="t-sa" type="password">' + show_button("t-sa"),
        ("LEAK19SHOWNTHENTYPED",),
        "before_start",
        {
            "before_start": (("click", "#t-sa-show"),),
            "after_join": (("type", "#t-sa", "LEAK19SHOWNTHENTYPED"),),
        },
        target="#t-sa",
        mirror="value",
    ),
    Row(
        "password_typed_before_start_shown_after_join",
        '<input id="t-ta" type="password">' + show_button("t-ta"),
        ("LEAK20TYPEDTHENSHOWN",),
        "before_start",
        {
            "before_start": (("type", "#t-ta", "LEAK20TYPEDTHENSHOWN"),),
            "after_join": (("click", "#t-ta-show"), ("type", "#t-ta", "X")),
        },
        target="#t-ta",
        mirror="value",
    ),
    # --- autocomplete in every valid spelling (case-insensitive, section-*, shipping/billing) --
    Row(
        "autocomplete_CC-Number",
        '<input id="c-num" autocomplete="CC-Number">',
        ("LEAK21CCNUMBER",),
        "after_join",
        (("fill", "#c-num", "LEAK21CCNUMBER"),),
        target="#c-num",
        mirror="value",
    ),
    Row(
        "autocomplete_billing_CC-CSC",
        '<input id="c-csc" autocomplete="billing CC-CSC">',
        ("LEAK22BILLINGCSC",),
        "before_join",
        (("fill", "#c-csc", "LEAK22BILLINGCSC"),),
        target="#c-csc",
        mirror="value",
    ),
    Row(
        "autocomplete_section-login_one-time-code",
        '<input id="c-otp" autocomplete="section-login one-time-code">',
        ("LEAK23SECTIONOTP",),
        "after_join",
        (("fill", "#c-otp", "LEAK23SECTIONOTP"),),
        target="#c-otp",
        mirror="value",
    ),
    Row(
        "autocomplete_section-signup_new-password",  # a text field: only the token says so
        '<input id="c-newpw" type="text" autocomplete="section-signup new-password">',
        ("LEAK24SECTIONNEWPW",),
        "before_start",
        (("fill", "#c-newpw", "LEAK24SECTIONNEWPW"),),
        target="#c-newpw",
        mirror="value",
    ),
    Row(
        "autocomplete_shipping_cc-exp",
        '<input id="c-exp" autocomplete="shipping cc-exp">',
        ("LEAK25SHIPPINGEXP",),
        "after_join",
        (("fill", "#c-exp", "LEAK25SHIPPINGEXP"),),
        target="#c-exp",
        mirror="value",
    ),
    Row(
        "autocomplete_current-password",  # type=text: only the token names a password
        '<input id="c-curpw" type="text" autocomplete="current-password">',
        ("LEAK26CURRENTPW",),
        "after_join",
        (("fill", "#c-curpw", "LEAK26CURRENTPW"),),
        target="#c-curpw",
        mirror="value",
    ),
    Row(
        "autocomplete_whitespace_Cc-Name",  # tokens are split on ASCII whitespace
        '<input id="c-name" autocomplete="  Cc-Name  ">',
        ("LEAK27CCNAME",),
        "after_join",
        (("fill", "#c-name", "LEAK27CCNAME"),),
        target="#c-name",
        mirror="value",
    ),
    Row(
        "autocomplete_current-password_webauthn",  # webauthn may follow the field name
        '<input id="c-webauthn" autocomplete="section-x current-password webauthn">',
        ("LEAK28WEBAUTHN",),
        "after_join",
        (("fill", "#c-webauthn", "LEAK28WEBAUTHN"),),
        target="#c-webauthn",
        mirror="value",
    ),
    # --- Rules on containers and labels -----------------------------------------------------
    Row(
        "rule_on_ancestor_container",
        '<div class="private-input"><input id="k-anc"></div>',
        ("LEAK29ANCESTOR",),
        "after_join",
        (("fill", "#k-anc", "LEAK29ANCESTOR"),),
        target="#k-anc",
        mirror="value",
    ),
    Row(
        "rule_on_container_that_gets_the_class_later",
        '<div id="k-late-box"><input id="k-late"></div>',
        ("LEAK30LATERCLASS",),
        "after_join",
        (
            ("js", "() => document.getElementById('k-late-box').classList.add('private-input')", 0),
            ("fill", "#k-late", "LEAK30LATERCLASS"),
        ),
        target="#k-late",
        mirror="value",
    ),
    Row(
        "label_text_inside_masked_container",  # a rule covers everything inside the element
        '<div class="private-input"><label id="k-label" for="k-label-in">LEAK31LABELTEXT</label>'
        '<input id="k-label-in"></div>',
        ("LEAK31LABELTEXT",),
        "before_start",
        target="#k-label",
        mirror="text",
    ),
    Row(
        "masked_text_in_the_page",
        '<p id="k-ptext" class="private-text">LEAK32STATICTEXT</p>',
        ("LEAK32STATICTEXT",),
        "before_start",
        target="#k-ptext",
        mirror="text",
    ),
    # --- <select> -----------------------------------------------------------------------------
    Row(
        "select_optgroup_option_selected",  # text and value of the chosen option
        '<select id="o-group" class="private-input"><optgroup label="Plans">'
        '<option value="plain">Plain</option>'
        '<option value="LEAK33OPTGROUPVALUE" selected>LEAK33OPTGROUPTEXT</option>'
        "</optgroup></select>",
        ("LEAK33OPTGROUPVALUE", "LEAK33OPTGROUPTEXT"),
        "before_start",
        target="#o-group",
    ),
    Row(
        "select_optgroup_label",  # an attribute inside a masked element is not harmless
        '<select id="o-glabel" class="private-input"><optgroup label="LEAK34GROUPLABEL">'
        '<option value="x">X</option></optgroup></select>',
        ("LEAK34GROUPLABEL",),
        "before_start",
        target="#o-glabel",
    ),
    Row(
        "select_unchosen_options",  # every option of a masked select, chosen or not
        '<select id="o-all" class="private-input"><option value="">Choose</option>'
        '<option value="LEAK35OPTIONVALUE">LEAK35OPTIONTEXT</option></select>',
        ("LEAK35OPTIONVALUE", "LEAK35OPTIONTEXT"),
        "before_start",
        target="#o-all",
    ),
    Row(
        "select_value_set_by_script",
        '<select id="o-script" class="private-input"><option value="">Choose</option>'
        '<option value="LEAK36SCRIPTVALUE">LEAK36SCRIPTTEXT</option></select>',
        ("LEAK36SCRIPTVALUE", "LEAK36SCRIPTTEXT"),
        "after_join",
        (("js", "s => { document.getElementById('o-script').value = s; }"),),
        target="#o-script",
    ),
    # --- <textarea> ---------------------------------------------------------------------------
    Row(
        "textarea_text_in_the_page",
        '<textarea id="x-init" class="private-input">LEAK37TEXTAREAINIT</textarea>',
        ("LEAK37TEXTAREAINIT",),
        "before_start",
        target="#x-init",
        mirror="value",
    ),
    Row(
        "textarea_text_set_by_script",
        '<textarea id="x-text" class="private-input"></textarea>',
        ("LEAK38TEXTAREATEXT",),
        "after_join",
        (("js", "s => { document.getElementById('x-text').textContent = s; }"),),
        target="#x-text",
        mirror="value",
    ),
    Row(
        "textarea_value_attribute_set_by_script",
        '<textarea id="x-attr" class="private-input"></textarea>',
        ("LEAK39TEXTAREAATTR",),
        "after_join",
        (("js", "s => { document.getElementById('x-attr').setAttribute('value', s); }"),),
        target="#x-attr",
    ),
    # --- Attributes of a masked field (fail closed: only harmless ones pass) -----------------
    *(
        Row(
            f"attribute_{attr.replace('-', '_')}",
            f'<input id="m-{attr}" class="private-input" {attr}="{secret}">',
            (secret,),
            "before_start",
            target=f"#m-{attr}",
        )
        for attr, secret in [
            ("placeholder", "LEAK40PLACEHOLDER"),
            ("title", "LEAK41TITLE"),
            ("aria-label", "LEAK42ARIALABEL"),
            ("aria-description", "LEAK43ARIADESCRIPTION"),
            ("data-hint", "LEAK44DATAHINT"),
            ("data-value", "LEAK45DATAVALUE"),
        ]
    ),
    Row(
        "attribute_data_set_after_join",
        '<input id="m-data-late" class="private-input">',
        ("LEAK46DATALATE",),
        "after_join",
        (("js", "s => document.getElementById('m-data-late').setAttribute('data-note', s)"),),
        target="#m-data-late",
    ),
    Row(
        "attribute_aria_label_set_after_join",
        '<input id="m-aria-late" class="private-input">',
        ("LEAK47ARIALATE",),
        "after_join",
        (("js", "s => document.getElementById('m-aria-late').setAttribute('aria-label', s)"),),
        target="#m-aria-late",
    ),
    # --- contenteditable ----------------------------------------------------------------------
    Row(
        "contenteditable_inside_masked_container",
        '<div class="private-input"><div id="e-inner" contenteditable="true" '
        'style="min-height:1em;border:1px solid #999"></div></div>',
        ("LEAK48EDITINNER",),
        "after_join",
        (("keys", "#e-inner", "LEAK48EDITINNER"),),
        target="#e-inner",
        mirror="text",
    ),
    # --- Masked images ------------------------------------------------------------------------
    Row(
        "picture_source_srcset_around_masked_img",
        '<picture id="i-pic"><source srcset="/corpus/img/LEAK49SRCSET.png" type="image/png">'
        '<img class="private-image" id="i-pic-img" src="/corpus/img/plain.png" alt="" '
        'width="20" height="10"></picture>',
        ("LEAK49SRCSET",),
        "before_start",
        target="#i-pic",
    ),
    Row(
        "masked_image_src_set_after_join",
        '<img class="private-image" id="i-src" src="/corpus/img/plain.png" width="20" height="10">',
        ("LEAK50IMGSRC",),
        "after_join",
        (("js", "s => { document.getElementById('i-src').src = '/corpus/img/' + s + '.png'; }"),),
        target="#i-src",
    ),
    Row(
        "masked_image_srcset_set_after_join",
        '<img class="private-image" id="i-srcset" src="/corpus/img/plain.png" width="20" '
        'height="10">',
        ("LEAK51IMGSRCSET",),
        "after_join",
        (
            (
                "js",
                "s => { document.getElementById('i-srcset').srcset = '/corpus/img/' + s + '.png 2x'; }",
            ),
        ),
        target="#i-srcset",
    ),
    Row(
        "masked_image_alt_set_after_join",
        '<img class="private-image" id="i-alt" src="/corpus/img/plain.png" width="20" height="10">',
        ("LEAK52IMGALT",),
        "after_join",
        (("js", "s => document.getElementById('i-alt').setAttribute('alt', s)"),),
        target="#i-alt",
    ),
    # --- Shadow roots and same-origin iframes -------------------------------------------------
    Row(
        "shadow_root_field_masked_by_rule",
        '<div id="s-rule" data-shadow=\'{"class": "private-input"}\'></div>',
        ("LEAK53SHADOWRULE",),
        "after_join",
        (("fill", "#s-rule >>> input", "LEAK53SHADOWRULE"),),
        target="#s-rule >>> input",
        mirror="value",
    ),
    Row(
        # Our reading of "a rule covers an element and everything inside it": the shadow tree
        # of a host inside a masked container is inside it for the customer and for the agent.
        "shadow_root_inside_masked_container",
        '<div class="private-input"><div id="s-inside" data-shadow=\'{}\'></div></div>',
        ("LEAK54SHADOWINSIDE",),
        "after_join",
        (("fill", "#s-inside >>> input", "LEAK54SHADOWINSIDE"),),
        target="#s-inside >>> input",
        mirror="value",
    ),
    Row(
        "iframe_srcdoc_field_masked_by_rule",
        '<iframe id="f-srcdoc" width="220" height="34" srcdoc=\'<input id="f-in" '
        'class="private-input">\'></iframe>',
        ("LEAK55SRCDOC",),
        "after_join",
        (("fill", "iframe#f-srcdoc >>> #f-in", "LEAK55SRCDOC"),),
        target="iframe#f-srcdoc >>> #f-in",
        mirror="value",
    ),
    Row(
        "iframe_routed_password",  # /corpus/frame/ on the site's origin, no widget of its own
        '<iframe id="f-routed" width="320" height="34" src="/corpus/frame/"></iframe>',
        ("LEAK56FRAMEPASSWORD",),
        "after_join",
        (("type", "iframe#f-routed >>> #f-pw", "LEAK56FRAMEPASSWORD"),),
        target="iframe#f-routed >>> #f-pw",
        mirror="value",
    ),
    Row(
        "iframe_routed_card_before_join",
        "",  # the same frame as iframe_routed_password
        ("LEAK57FRAMECARD",),
        "before_join",
        (("fill", "iframe#f-routed >>> #f-cc", "LEAK57FRAMECARD"),),
        target="iframe#f-routed >>> #f-cc",
        mirror="value",
    ),
    # --- Hidden inputs and values set without events (autofill-like) -------------------------
    Row(
        "hidden_input_value_in_the_page",
        '<input type="hidden" id="h-init" name="csrf" value="LEAK58HIDDENINIT">',
        ("LEAK58HIDDENINIT",),
        "before_start",
        target="#h-init",
    ),
    Row(
        "hidden_input_set_before_join",
        '<input type="hidden" id="h-bj" name="session">',
        ("LEAK59HIDDENBJ",),
        "before_join",
        (("js", SET_VALUE % "#h-bj"),),
        target="#h-bj",
    ),
    Row(
        "autofill_value_property_card",  # el.value = ..., no input or change event
        '<input id="v-card" autocomplete="cc-number">',
        ("LEAK60AUTOFILLCARD",),
        "after_join",
        (("js", SET_VALUE % "#v-card"),),
        target="#v-card",
        mirror="value",
    ),
    Row(
        "autofill_native_setter_password_before_join",
        '<input id="v-pw" type="password">',
        ("LEAK61NATIVEPW",),
        "before_join",
        (("js", NATIVE_SET % "#v-pw"),),
        target="#v-pw",
        mirror="value",
    ),
    Row(
        "autofill_native_setter_rule_after_join",
        '<input id="v-rule" class="private-input">',
        ("LEAK62NATIVERULE",),
        "after_join",
        (("js", NATIVE_SET % "#v-rule"),),
        target="#v-rule",
        mirror="value",
    ),
    Row(
        "radio_inside_masked_container",
        '<div class="private-input"><label><input type="radio" name="r_box" id="r-box-a" '
        'value="LEAK63BOXRADIOA"> A</label><label><input type="radio" name="r_box" '
        'id="r-box-b" value="LEAK63BOXRADIOB"> B</label></div>',
        ("LEAK63BOXRADIOA", "LEAK63BOXRADIOB"),
        "after_join",
        (("check", "#r-box-a"),),
        keeps="(r => r.checked ? r.value + document.querySelector('#r-box-b').value"
        " : 'not checked')(document.querySelector('#r-box-a'))",
        choice=True,
    ),
    # --- Found by the review of the fix: fields replaced, choices told by classes, frames ----
    Row(
        "password_replaced_by_a_new_text_field",  # "Show" builds a new <input name=pass>
        '<input type="password" id="k-pwr" name="pass">',
        ("LEAK72REPLACEDPASSWORD",),
        "after_join",
        (
            ("type", "#k-pwr", "LEAK72REPLACEDPASSWORD"),
            (
                "js",
                "() => { const o = document.getElementById('k-pwr');"
                " const n = document.createElement('input'); n.type = 'text'; n.name = 'pass';"
                " n.id = 'k-pwr2'; n.value = o.value; o.replaceWith(n); }",
                0,
            ),
            ("type", "#k-pwr2", "MORE"),
        ),
        target="#k-pwr2",
        mirror="value",
    ),
    Row(
        "radio_card_whose_class_tells_the_choice",
        '<div class="private-input"><label class="opt" id="k-card-a"><input type="radio" '
        'name="k_card" id="k-card-ra" onchange="this.parentNode.className=\'opt LEAK73CHOSENCARD\'">'
        " Gold</label></div>",
        ("LEAK73CHOSENCARD",),
        "after_join",
        (("check", "#k-card-ra"),),
        keeps="document.getElementById('k-card-a').className",
    ),
    Row(
        "iframe_field_under_a_rule_for_the_frames_own_path",  # #f-iban: /corpus/frame/* only
        "",  # the same frame as iframe_routed_password
        ("LEAK74FRAMEPATHRULE",),
        "after_join",
        (("type", "iframe#f-routed >>> #f-iban", "LEAK74FRAMEPATHRULE"),),
        target="iframe#f-routed >>> #f-iban",
        mirror="value",
    ),
    Row(
        "text_added_later_inside_a_masked_shadow_host",
        '<div class="private-text" id="s-text-host" data-shadow=\'{}\'></div>',
        ("LEAK75SHADOWTEXT",),
        "after_join",
        (
            (
                "js",
                "() => { const h = document.getElementById('s-text-host');"
                " const r = h.shadowRoot || h.attachShadow({mode: 'open'});"
                " const b = document.createElement('b'); b.textContent = 'LEAK75SHADOWTEXT';"
                " r.appendChild(b); }",
                0,
            ),
        ),
    ),
    # --- The page's own address: query strings and fragments are kept out by default --------
    Row(
        "url_query_string",
        "",
        ("LEAK64QUERY",),
        "before_start",
        keeps="location.href",
    ),
    Row(
        "url_fragment",
        "",
        ("LEAK65FRAGMENT",),
        "before_start",
        keeps="location.href",
    ),
]
MAIN_PATH = "/corpus/main/?coupon=LEAK64QUERY&lang=en#access_token=LEAK65FRAGMENT"

FRAME_HTML = (
    '<!doctype html><html><body style="margin:2px"><input id="f-pw" type="password"> '
    '<input id="f-cc" autocomplete="cc-number"> <input id="f-iban"></body></html>'
)
# A rule for the frame's own path: the top page's policy does not pick it, yet it must hold.
FRAME_RULE = ("#f-iban", "input", "/corpus/frame/*")

# A single-page app: its router renders the billing form (#iban, masked by a rule for
# /corpus/spa/billing/* only) on the billing path, decoded as the page's own router does it.
SPA_SCRIPT = """
function render() {
  var path = decodeURIComponent(location.pathname);
  var outlet = document.getElementById('outlet');
  outlet.textContent = '';
  if (path.indexOf('/corpus/spa/billing/') === 0) {
    var label = document.createElement('label');
    label.htmlFor = 'iban';
    label.textContent = 'IBAN ';
    var input = document.createElement('input');
    input.id = 'iban';
    input.name = 'iban';
    outlet.append(label, input);
  } else {
    var p = document.createElement('p');
    p.textContent = 'Another page of the app';
    outlet.append(p);
  }
}
window.go = function (path, how) {
  history[how === 'replace' ? 'replaceState' : 'pushState']({}, '', path);
  render();
};
addEventListener('popstate', render);
addEventListener('hashchange', render);
render();
window.__corpusReady = true;
"""
SPA_BODY = (
    '<h1>Account app</h1><p><input id="sentinel" aria-label="sync"></p><main id="outlet"></main>'
)
GO = "() => window.go(%r, %r)"


def iban(n: int, tag: str) -> str:
    return f"LEAK{n}IBAN{tag}DE89370400440532013000"


# In table order, in one session: each row starts where the previous one left the app. The
# session starts on a path no URL-scoped rule covers, so the policy the widget loads first has no
# #iban rule: only following the navigation can mask it.
SPA_ROWS = [
    Row(
        "spa_pushstate",
        "",
        (iban(67, "PUSH"),),
        "after_join",
        (
            ("js", GO % ("/corpus/spa/plain/", "push"), 0),
            ("js", GO % ("/corpus/spa/billing/", "push"), 0),
            ("type", "#iban", iban(67, "PUSH")),
        ),
        target="#iban",
        mirror="value",
        session="spa",
    ),
    Row(
        "spa_replacestate",
        "",
        (iban(68, "REPLACE"),),
        "after_join",
        (
            ("js", GO % ("/corpus/spa/plain/", "push"), 0),
            ("js", GO % ("/corpus/spa/billing/", "replace"), 0),
            ("type", "#iban", iban(68, "REPLACE")),
        ),
        target="#iban",
        mirror="value",
        session="spa",
    ),
    Row(
        "spa_popstate_back_to_covered_path",  # back to the entry spa_replacestate left
        "",
        (iban(69, "POPSTATE"),),
        "after_join",
        (
            ("js", GO % ("/corpus/spa/other/", "push"), 0),
            ("js", "() => history.back()", 0),
            (
                "wait",
                "() => location.pathname === '/corpus/spa/billing/' && !!document.getElementById('iban')",
            ),
            ("type", "#iban", iban(69, "POPSTATE")),
        ),
        target="#iban",
        mirror="value",
        session="spa",
    ),
    Row(
        "spa_hashchange",  # no rule change: nothing breaks and the rule still holds
        "",
        (iban(70, "HASH"),),
        "after_join",
        (
            ("js", "() => { location.hash = 'details'; }", 0),
            ("wait", "() => location.hash === '#details' && !!document.getElementById('iban')"),
            ("type", "#iban", iban(70, "HASH")),
        ),
        target="#iban",
        mirror="value",
        session="spa",
    ),
    Row(
        "spa_encoded_path",  # /corpus/spa/%62illing/ is the billing path
        "",
        (iban(71, "ENCODED"),),
        "after_join",
        (
            ("js", GO % ("/corpus/spa/plain/", "push"), 0),
            ("js", GO % ("/corpus/spa/%62illing/", "push"), 0),
            ("type", "#iban", iban(71, "ENCODED")),
        ),
        target="#iban",
        mirror="value",
        session="spa",
    ),
    Row(
        # A full page load of an encoded path: the seeded #phone rule is for /demo/account/*.
        "encoded_path_full_load_demo_account",
        "",
        ("LEAK72PHONE5550100",),
        "after_join",
        (
            ("goto", "/demo/%61ccount/"),
            ("mirror", "#phone"),
            ("fill", "#phone", "LEAK72PHONE5550100"),
        ),
        target="#phone",
        mirror="value",
        session="spa",
        sync="#full-name",
    ),
]

# Its own session: once the socket is open (the widget has the start page's policy), the app
# navigates to billing and the customer types there before the agent joins.
SPA_BEFORE_JOIN_ROWS = [
    Row(
        "spa_pushstate_before_join",
        "",
        (iban(66, "PUSHBJ"),),
        "before_join",
        (
            ("socket",),
            ("js", GO % ("/corpus/spa/billing/", "push"), 0),
            ("fill", "#iban", iban(66, "PUSHBJ")),
        ),
        target="#iban",
        mirror="value",
        session="spa_before_join",
    ),
]

ROWS = MAIN_ROWS + SPA_ROWS + SPA_BEFORE_JOIN_ROWS
IBAN_RULE = ("#iban", "input", "/corpus/spa/billing/*")


def test_table_is_sound():
    """Distinct names; no secret inside another one, so a substring search is unambiguous."""
    names = [r.name for r in ROWS]
    assert len(names) == len(set(names))
    secrets = [s for r in ROWS for s in r.secrets]
    assert len(secrets) == len(set(secrets))
    for a in secrets:
        assert not [b for b in secrets if a != b and a in b], a
    assert all(r.when in PHASES and set(r.phases()) <= set(PHASES) for r in ROWS)
    assert len(ROWS) >= 40


class Run:
    def __init__(self, server, customer: Page, agent_page: Page, report: Report, wire: Wire):
        self.server, self.customer, self.agent_page = server, customer, agent_page
        self.report, self.wire = report, wire
        self.codes: list[str] = []
        self.spans: dict[str, tuple[int, int]] = {}  # session -> wire frames of that session
        self.session_start = 0

    def steps(self, row: Row, steps) -> None:
        c = self.customer
        for step in steps:
            kind, *args = step
            try:
                if kind == "fill":
                    locate(c, args[0]).fill(args[1], timeout=5000)
                elif kind == "type":
                    locate(c, args[0]).press_sequentially(args[1], timeout=5000)
                elif kind == "keys":
                    locate(c, args[0]).click(timeout=5000)
                    c.keyboard.type(args[1])
                elif kind == "click":
                    locate(c, args[0]).click(timeout=5000)
                elif kind == "check":
                    locate(c, args[0]).check(timeout=5000)
                elif kind == "select":
                    locate(c, args[0]).select_option(args[1], timeout=5000)
                elif kind == "js":
                    c.evaluate(args[0], args[1] if len(args) > 1 else row.secrets[0])
                elif kind == "wait":
                    c.wait_for_function(args[0], timeout=5000)
                elif kind == "goto":
                    c.goto(self.server.customer_base + args[0])
                elif kind == "socket":  # the widget's socket is open: it has had its state
                    self.wait_for(
                        lambda: any(
                            f.page == "customer" and not f.sent and '"type":"state"' in f.text
                            for f in self.wire.frames[self.session_start :]
                        )
                    )
                elif kind == "mirror":
                    if not mirror_has(self.agent_page, args[0]):
                        self.report.fail(row.name, f"the mirror never showed {args[0]}")
                else:
                    raise ValueError(f"unknown step {kind}")
            except Exception as error:  # one broken row must not hide the others
                first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
                self.report.fail(row.name, f"step {step[:2]!r} did not run: {first}")

    def wait_for(self, predicate, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("waited 5 s")
            self.customer.wait_for_timeout(50)  # Playwright delivers events while it waits

    def phase(self, rows: list[Row], phase: str) -> None:
        for row in rows:
            if phase in row.phases():
                self.steps(row, row.phases()[phase])

    def keeps(self, row: Row) -> None:
        """Masking is for the agent only: the customer's page still holds every value."""
        if row.keeps is None and row.target is None:
            return
        try:
            if row.keeps is not None:
                got = self.customer.evaluate(row.keeps)
            else:
                got = self.customer.evaluate(READ_CUSTOMER_JS, [row.target])
        except Exception as error:
            self.report.fail(row.name, f"could not read the customer's page: {error}")
            return
        missing = [s for s in row.secrets if s not in (got or "")]
        self.report.check(
            not missing,
            row.name,
            lambda: f"the customer's own page lost {missing} (read {str(got)[:120]!r})",
        )

    def mirror(self, row: Row) -> None:
        if not row.mirror or not row.target:
            return
        got = self.agent_page.evaluate(READ_MIRROR_JS, [row.target, row.mirror])
        if "missing" in got:  # not in the mirror at all: nothing to see (the wire is checked)
            self.report.notes.append(f"[{row.name}] not in the mirror: {got['missing']}")
            return
        value = got.get("value") or ""
        self.report.check(
            only_stars(value),
            row.name,
            lambda: f"the mirror shows {value[:80]!r} for {row.target} (only '*' allowed)",
        )

    def sync(self, row_or_label: str, selector: str) -> bool:
        token = f"sync-{len(self.wire.frames)}"
        ok = sync(self.customer, self.agent_page, selector, token)
        self.report.check(
            ok, row_or_label, f"the mirror never showed {token!r} in {selector}: is it live?"
        )
        return ok

    def join(self, code: str, first: str) -> bool:
        self.codes.append(code.replace(" ", ""))
        join(self.agent_page, code)
        return mirror_has(self.agent_page, first)

    def session(self, name: str, rows: list[Row], path: str, *, per_row: bool) -> None:
        start = self.session_start = self.wire.mark()
        c = self.customer
        c.goto(self.server.customer_base + path)
        c.wait_for_function("window.__corpusReady === true")
        # "Before start" is with the widget on the page (it loads async): a page that flips a
        # password's type before the widget exists cannot be told from a text field.
        c.wait_for_function("!!window.Cobrowse")
        self.phase(rows, "before_start")
        code = click_start(c)
        self.phase(rows, "before_join")
        if not self.join(code, "#sentinel"):
            self.report.fail(name, "the agent's mirror never showed the page")
        self.sync(name, "#sentinel")
        early = [r for r in rows if "after_join" not in r.phases()]
        if per_row:  # checks run as the session goes: the app replaces its fields
            for row in early:
                self.mirror(row)
                self.keeps(row)
            for row in rows:
                if "after_join" in row.phases():
                    self.steps(row, row.phases()["after_join"])
                    self.sync(row.name, row.sync)
                    self.mirror(row)
                    self.keeps(row)
        else:
            self.phase(rows, "after_join")
            self.sync(name, "#sentinel")
            for row in rows:
                self.mirror(row)
                self.keeps(row)
        c.wait_for_timeout(300)  # the last batches cross (the widget flushes every 40 ms)
        end_session(self.agent_page)
        self.spans[name] = (start, self.wire.mark())

    def choices(self, row: Row) -> None:
        """The chosen radio/checkbox is not identifiable: the agent receives no mouse interaction
        (source 2) or input (source 5) event that names one of its inputs' node ids."""
        start, end = self.spans.get(row.session, (0, None))

        def naming(events: list[dict]) -> list[str]:
            ids = ids_inside(serialized_trees(events), "data-row", row.name, "input")
            return sorted(
                {
                    f"source {e['data'].get('source')} on node {e['data'].get('id')}"
                    for e in events
                    if e.get("type") == 3
                    and isinstance(e.get("data"), dict)
                    and e["data"].get("source") in (2, 5)
                    and e["data"].get("id") in ids
                }
            )

        agent = list(self.wire.agent_events(start, end))
        if not ids_inside(serialized_trees(agent), "data-row", row.name, "input"):
            self.report.notes.append(f"[{row.name}] its inputs are in no snapshot the agent had")
            return
        seen = naming(agent)
        if seen:
            self.report.fail(row.name, f"events identify the masked choice: {', '.join(seen)}")
        sent = naming(list(self.wire.customer_events(start, end)))
        if sent and not seen:  # the server dropped them: worth knowing, not a leak
            self.report.notes.append(f"[{row.name}] the widget sends {', '.join(sent)}")


def test_leak_corpus(server, customer, agent_page, request):
    report = Report("leak corpus")
    wire = Wire()
    wire.attach(customer, "customer")
    wire.attach(agent_page, "agent")
    key = demo_site_key(server)
    ensure_rule(server, key, *IBAN_RULE)
    ensure_rule(server, key, *FRAME_RULE)

    routes = Routes()
    routes.pages["/corpus/main/"] = page_html(
        server,
        key,
        '<h1>Leak corpus</h1><p><input id="sentinel" aria-label="sync"></p>'
        + "".join(f'<div class="row" data-row="{r.name}">{r.html}</div>' for r in MAIN_ROWS),
        # Open shadow roots, each with one input carrying the host's data-shadow attributes.
        "document.querySelectorAll('[data-shadow]').forEach(function (host) {"
        " var input = document.createElement('input');"
        " var attrs = JSON.parse(host.dataset.shadow);"
        " Object.keys(attrs).forEach(function (k) { input.setAttribute(k, attrs[k]); });"
        " host.attachShadow({mode: 'open'}).appendChild(input); });"
        " window.__corpusReady = true;",
        title="Leak corpus",
    )
    routes.pages["/corpus/frame/"] = FRAME_HTML
    routes.pages["/corpus/spa/"] = page_html(server, key, SPA_BODY, SPA_SCRIPT, title="App")
    serve(customer, server, routes)

    run = Run(server, customer, agent_page, report, wire)
    login(agent_page, server.agent_base, "agent1")
    run.session("main", MAIN_ROWS, MAIN_PATH, per_row=False)
    screenshot(request, main_customer=customer, main_agent=agent_page)
    agent_page.goto(server.agent_base + "/workspace/")
    expect(agent_page.get_by_test_id("join-cobrowse")).to_be_enabled()
    run.session("spa", SPA_ROWS, "/corpus/spa/start/", per_row=True)
    agent_page.goto(server.agent_base + "/workspace/")
    expect(agent_page.get_by_test_id("join-cobrowse")).to_be_enabled()
    run.session("spa_before_join", SPA_BEFORE_JOIN_ROWS, "/corpus/spa/start/", per_row=True)

    for row in ROWS:
        if row.choice:
            run.choices(row)

    # Every frame, every database row, every log line.
    wire_text = wire.text()
    assert "data-row" in wire_text and "Another page of the app" in wire_text, (
        "the capture saw both sessions' snapshots"
    )
    rows_dump = database_rows(server.env["SQLITE_PATH"])
    assert all(code in rows_dump for code in run.codes), "the dump has the sessions' rows"
    log = server.log_path.read_text()
    assert log.count("/ws/agent/") >= len(run.codes), (
        f"{server.log_path} is this server's log and was flushed"
    )
    for row in ROWS:
        for secret in row.secrets:
            where = wire.where(secret)
            if where:
                report.fail(row.name, f"{secret} crossed the wire: {where}")
            at = rows_dump.find(secret)
            if at >= 0:
                found = excerpt(rows_dump, at, len(secret))
                report.fail(row.name, f"{secret} is in the database: ...{found}...")
            line = next((li for li in log.splitlines() if secret in li), None)
            if line is not None:
                report.fail(row.name, f"{secret} is in the server log: {line[:300]}")

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "leak-corpus-report.txt").write_text(report.render() + "\n")
    assert not report.failures, report.render()
