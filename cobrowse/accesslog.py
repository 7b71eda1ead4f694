"""Request paths in logs, without their query strings.

The widget's policy request carries the customer's page URL in `?url=` (and with it any token the
page has in its own query or fragment), and the customer's sockets carry their secret in
`?token=`. daphne's access log prints `GET /api/v1/sites/<key>/policy?url=...` whole: to stdout
from the `daphne` command (not through `logging`, so no filter reaches it), and through the
`django.channels.server` logger under `manage.py runserver`. `install()` makes daphne hand its
access loggers the path alone, whichever way it was started; `StripQueryStrings` does the same for
records of Django's own request loggers (configured in settings.LOGGING).
"""

import logging
import re

_QUERY = re.compile(r"[?#][^\s\"']*")


def without_query(text: str) -> str:
    """`GET /a?b=c HTTP/1.1` -> `GET /a HTTP/1.1`: every `?...` or `#...` up to a space or quote."""
    return _QUERY.sub("", text)


def _clean(value):
    if isinstance(value, str):
        return without_query(value)
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    return value


class StripQueryStrings(logging.Filter):
    """Drop query strings from a log record's message and arguments (request paths)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and not record.args:  # already formatted
            record.msg = without_query(record.msg)
        if isinstance(record.args, dict):
            record.args = _clean(record.args)
        elif isinstance(record.args, tuple):
            record.args = tuple(_clean(arg) for arg in record.args)
        return True


def install() -> None:
    """Make every daphne server in this process log paths without query strings."""
    try:
        from daphne.server import Server
    except ImportError:  # served by something else: its logs are its operator's to configure
        return
    if getattr(Server.log_action, "strips_queries", False):
        return
    original = Server.log_action

    def log_action(self, protocol, action, details):
        if isinstance(details.get("path"), str):
            details = {**details, "path": without_query(details["path"])}
        return original(self, protocol, action, details)

    log_action.strips_queries = True  # type: ignore[attr-defined]  # a marker against patching twice
    Server.log_action = log_action
