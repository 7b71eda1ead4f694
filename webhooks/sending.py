"""Signing and POSTing one delivery. Plain code, no Django: the worker calls it from threads.

Signature: `Cobrowse-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, with the
endpoint's secret as the key (docs/integrations.md shows how a receiver checks it).
"""

import hashlib
import hmac
import http.client
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

USER_AGENT = "cobrowse-webhooks/1"


def signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def headers(*, secret: str, body: bytes, event: str, delivery: str, attempt: int) -> dict:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Cobrowse-Event": event,
        "Cobrowse-Delivery": delivery,
        "Cobrowse-Attempt": str(attempt),
        "Cobrowse-Signature": signature(secret, body, int(time.time())),
    }


@dataclass
class Result:
    status_code: int | None
    error: str
    response: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, body: bytes, headers: dict, *, timeout: float) -> Result:
    """POST `body`; the whole exchange (connect, send, answer) ends within `timeout` seconds.

    A socket timeout alone bounds each read, not the total: a receiver dripping one byte at a
    time could hold a worker for ever. A timer shuts the socket down at the deadline. Redirects
    are not followed (a 3xx is a failure).
    """
    started = time.perf_counter()
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    conn = connection_class(parts.hostname or "", parts.port, timeout=timeout)
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        if conn.sock is not None:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = threading.Timer(timeout, cut)
    timer.daemon = True
    timer.start()
    status: int | None = None
    error = response = ""
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", target, body=body, headers=headers)
        answer = conn.getresponse()
        status = answer.status
        try:
            response = answer.read(500).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            response = "(the body could not be read)"  # the status line decides
        if 300 <= status < 400:
            error = "redirects are not followed"
        elif not 200 <= status < 300:
            error = f"HTTP {status}"
    except (OSError, http.client.HTTPException) as e:
        if expired.is_set() or isinstance(e, TimeoutError):
            error = f"no answer within {timeout:g} s"
        else:
            error = f"{type(e).__name__}: {e}"[:300]
    finally:
        timer.cancel()
        conn.close()
    return Result(
        status_code=status,
        error=error,
        response=response,
        duration_ms=round((time.perf_counter() - started) * 1000),
    )
