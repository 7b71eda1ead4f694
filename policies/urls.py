"""URLs from the customer's page: what may be kept of them, and the path that rules match.

Plain code, no Django. Query strings and fragments carry tokens and personal data (password reset
links, `#access_token=`, search terms), so a URL is kept as origin and path only, plus the query
parameters a site names. Rule matching uses the path as a server would route it, so that an encoded
or dotted spelling of a covered path is covered too.
"""

import re
from collections.abc import Iterable
from urllib.parse import unquote, unquote_plus, urlsplit

MAX_URL = 2000
# Rounds of percent-decoding: `%2561` needs two; more than a few is someone probing.
_DECODE_ROUNDS = 8
_SLASHES = re.compile(r"/{2,}")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def parse_params(text: str) -> list[str]:
    """Parameter names from an administrator's list: one per line or comma separated."""
    names = (name.strip() for line in text.splitlines() for name in line.split(","))
    return list(dict.fromkeys(name for name in names if name))


def strip_query(url: str) -> str:
    """Everything before the first `?` or `#`."""
    return re.split(r"[?#]", url, maxsplit=1)[0]


def origin_and_path(url: str) -> tuple[str, str] | None:
    """(`scheme://host[:port]`, raw path) without user info, or None if it is not such a URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if not parts.scheme or not host:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    scheme = parts.scheme.lower()
    shown_port = f":{port}" if port is not None and port != _DEFAULT_PORTS.get(scheme) else ""
    return f"{scheme}://{host}{shown_port}", parts.path or "/"


def clean_url(url: str, allowed_params: Iterable[str] = ()) -> str:
    """`scheme://host[:port]/path`, with only the allowed query parameters (in their order), no
    fragment and no user info; '' for anything that is not an absolute URL."""
    split = origin_and_path(str(url))
    if split is None:
        return ""
    origin, path = split
    base = f"{origin}{path}"
    allowed = set(allowed_params)
    query = urlsplit(str(url).strip()).query if allowed else ""
    kept = [
        piece
        for piece in query.split("&")
        if piece and unquote_plus(piece.split("=", 1)[0]) in allowed
    ]
    if kept and len(base) + 1 + len("&".join(kept)) <= MAX_URL:
        return f"{base}?{'&'.join(kept)}"
    return base[:MAX_URL]


def normalize_path(path: str) -> str:
    """A path as a server routes it: percent-decoded until stable, `\\` read as `/`, runs of
    slashes collapsed, dot segments resolved; always starts with `/`."""
    path = path[: MAX_URL * 3]
    for _ in range(_DECODE_ROUNDS):
        decoded = unquote(path).replace("\\", "/")
        if decoded == path:
            break
        path = decoded
    path = _SLASHES.sub("/", "/" + path)
    return _SLASHES.sub("/", remove_dot_segments(path)) or "/"


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4."""
    output: list[str] = []
    while path:
        if path.startswith("../"):
            path = path[3:]
        elif path.startswith("./"):
            path = path[2:]
        elif path.startswith("/./"):
            path = path[2:]
        elif path == "/.":
            path = "/"
        elif path.startswith("/../"):
            path = path[3:]
            if output:
                output.pop()
        elif path == "/..":
            path = "/"
            if output:
                output.pop()
        elif path in (".", ".."):
            path = ""
        else:
            start = 1 if path.startswith("/") else 0
            end = path.find("/", start)
            if end == -1:
                end = len(path)
            output.append(path[:end])
            path = path[end:]
    return "".join(output)
