"""The agent's language on the agent's sockets, and the strings the workspace's and the supervisor
page's JavaScript builds, delivered as a catalog in the page (docs/configuration.md, Languages).

Pages get their language from Django's LocaleMiddleware. A socket gets it here, by the same rule
(the language cookie, then Accept-Language, then LANGUAGE_CODE), once when it connects: the agent's
consumers activate it for their whole life, so every message they send (error frames, the
refusals of services, the end of a session) is in the agent's language. Machine codes never change.
The customer's sockets stay in LANGUAGE_CODE: the widget words its own messages by code.
"""

from collections.abc import Callable, Mapping
from typing import Any

from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy, ngettext, pgettext


def language_from_scope(scope: Mapping[str, Any]) -> str:
    """The language Django would pick for a page request with this socket's cookies and headers."""
    request = HttpRequest()
    cookies = scope.get("cookies")
    for key, value in scope.get("headers", []):
        if key == b"accept-language":
            request.META["HTTP_ACCEPT_LANGUAGE"] = value.decode("latin1")
        elif key == b"cookie" and cookies is None:
            cookies = parse_cookie(value.decode("latin1"))
    request.COOKIES = dict(cookies or {})
    return translation.get_language_from_request(request)


def activate_for_socket(scope: Mapping[str, Any]) -> str:
    """Speak the socket user's language from here on (the consumer's task and what it starts)."""
    language = language_from_scope(scope)
    translation.activate(language)
    return language


# Why the guard (policies/guard.py, no Django there) refuses a node, as it words it, translated.
REFUSAL_REASONS = {
    "restricted control": gettext_lazy("restricted control"),
    "restricted field": gettext_lazy("restricted field"),
    "masked field": gettext_lazy("masked field"),
    "unknown element": gettext_lazy("unknown element"),
    "restricted control (it submits a form)": gettext_lazy(
        "restricted control (it submits a form)"
    ),
    "restricted control (a link off the site)": gettext_lazy(
        "restricted control (a link off the site)"
    ),
}
LABEL_OF = "label of a "


def refusal_reason(reason: str) -> str:
    """The guard's reason in the active language ("label of a masked field" included)."""
    if reason.startswith(LABEL_OF):
        return gettext("label of a %(what)s") % {"what": refusal_reason(reason[len(LABEL_OF) :])}
    return str(REFUSAL_REASONS.get(reason, reason))


def plural(forms: Callable[[int], str]) -> dict[str, str]:
    """A message with a count, for Intl.PluralRules in the browser: gettext's form for a number of
    each CLDR category our languages use (one: 1, and 0 in French; many: a million in French and
    Spanish; other: the rest)."""
    return {"one": forms(1), "many": forms(1_000_000), "other": forms(2)}


def session_labels() -> dict[str, str]:
    """Statuses, modes and channels as the supervisor page shows them (lower case, like codes)."""
    return {
        "status.waiting": pgettext("session status", "waiting"),
        "status.active": pgettext("session status", "active"),
        "status.paused": pgettext("session status", "paused"),
        "status.ended": pgettext("session status", "ended"),
        "mode.pointer": pgettext("session mode", "pointer"),
        "mode.write": pgettext("session mode", "write"),
        "channel.chat": pgettext("interaction channel", "chat"),
        "channel.voice": pgettext("interaction channel", "voice"),
    }


def workspace_catalog() -> dict[str, Any]:
    """What frontend/workspace.js writes into the page itself, in the active language."""
    return {
        "join.bad_code": gettext("A session ID has 9 digits, like 123 456 789."),
        "join.busy": gettext(
            "You already have a live co-browse session (%(code)s). Exit it before joining another."
        ),
        "join.unreachable": gettext(
            "Could not reach the co-browse server. Check your connection and try again."
        ),
        "status.reconnecting": gettext("Reconnecting…"),
        "status.loading": gettext("Loading the customer's page…"),
        "status.changing_page": gettext("Customer is changing page…"),
        "status.waiting_page": gettext("Waiting for the customer's page…"),
        "status.live": gettext("Live"),
        "status.paused": gettext("Paused"),
        "status.ended": gettext("Ended"),
        "status.silent": gettext("No updates"),
        "status.hidden": gettext("Tab hidden"),
        "readout.lag": gettext("Lag %(ms)s ms"),
        "readout.measuring": gettext("Lag: measuring…"),
        "readout.bytes": gettext("%(down)s KB/min in · %(up)s KB/min out"),
        "readout.hidden": gettext("The customer's tab is hidden: what you see may be out of date."),
        "readout.silent": plural(
            lambda n: ngettext(
                "Nothing from the customer's page for %(count)s second (frozen page or lost "
                "network).",
                "Nothing from the customer's page for %(count)s seconds (frozen page or lost "
                "network).",
                n,
            )
        ),
        "banner.ended": gettext("The session ended."),
        "banner.paused": gettext("Paused: the customer left the site."),
        "banner.offer_waits": gettext(
            "A chat customer started co-browse (%(code)s). It waits until you exit your current "
            "session."
        ),
        "refusal.control": gettext("Restricted control: agents cannot use it."),
        "refusal.field": gettext("Restricted field: hidden from agents, they cannot use it."),
        "refusal.block": gettext("Masked content: not visible to agents."),
        "refusal.input": gettext("Masked field: its value is not visible to agents."),
        "write.on": gettext("Write mode: on"),
        "write.off": gettext("Write mode: off"),
        "write.asking": gettext("Asking the customer…"),
        "url.invalid": gettext("That is not a web address."),
        "url.foreign": gettext("That address is outside the customer's site: %(origins)s only."),
        "inbox.nobody_waiting": gettext("No one is waiting."),
        "inbox.none_yours": gettext("No chats or calls."),
        "inbox.accept": gettext("Accept"),
        "inbox.call": gettext("Call"),
        "inbox.chat": gettext("Chat"),
        "inbox.call_ended": gettext("Call · ended"),
        "inbox.chat_ended": gettext("Chat · ended"),
        "inbox.waiting_count": plural(
            lambda n: ngettext("%(count)s waiting", "%(count)s waiting", n)
        ),
        "conversation.call_with": gettext("Call with %(name)s"),
        "conversation.chat_with": gettext("Chat with %(name)s"),
        "conversation.active": gettext("Active"),
        "conversation.ended": gettext("Ended"),
        "conversation.end_call": gettext("End call"),
        "conversation.end_chat": gettext("End chat"),
        "conversation.voice_note": gettext(
            "A voice call. Join the customer's co-browse session by its ID in the Co-browse "
            "tab: it is linked to this call."
        ),
        "conversation.open_cobrowse": gettext("Open co-browse %(code)s"),
    }


def supervisor_catalog() -> dict[str, Any]:
    """What frontend/supervisor.js writes into the page itself, in the active language."""
    return {
        **session_labels(),
        "end": gettext("End"),
        "none": gettext("No live sessions."),
        "count": plural(lambda n: ngettext("%(count)s live session", "%(count)s live sessions", n)),
        "updated": gettext("Updated %(time)s"),
        "forbidden": gettext("You are no longer allowed to see sessions; log in again."),
        "server_answered": gettext("The server answered %(status)s."),
        "refresh_failed": gettext("Could not refresh the list: %(error)s"),
    }
