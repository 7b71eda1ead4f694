#!/usr/bin/env python3
"""A small webhook receiver: checks each request's signature and prints the event.

Point a webhook endpoint at it (admin: Webhooks -> Endpoints -> Add, URL http://127.0.0.1:8765/),
copy the signing secret the admin shows once, and start it:

    python3 scripts/webhook_receiver.py --secret whsec_...    # or WEBHOOK_SECRET=whsec_... in the environment

It answers 204 to a well-signed, fresh request (and to a repeat of a delivery it has seen, which it
does not print twice), 400 to a forged or stale one (signed more than 5 minutes ago), and 500 to
the first N requests with --fail-first N, to watch the service retry. Python's standard library
only: copy `verify` into your own receiver.
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE = 300  # seconds a signature stays good: older requests may be replays
MAX_BODY = 1024 * 1024


class InvalidSignature(Exception):
    pass


def verify(
    secret: str, header: str, body: bytes, *, now: float | None = None, tolerance: int = TOLERANCE
) -> int:
    """Check a `Cobrowse-Signature: t=<unix>,v1=<hex>` header against the raw body.

    Returns the signed timestamp; raises InvalidSignature when the header is malformed, the
    timestamp is more than `tolerance` seconds away from now, or no v1 signature matches.
    """
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidSignature("no t= and v1= in the signature header")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature(
            f"signed {int(now - timestamp)} s ago: too old (or the clock is off)"
        )
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    if not any(hmac.compare_digest(expected.hexdigest(), given) for given in signatures):
        raise InvalidSignature("the signature does not match (wrong secret, or altered body)")
    return timestamp


def describe(event: dict) -> str:
    """One line per event, e.g. `session.ended 123 456 789 on Demo shop by agent:agent1 ...`."""
    parts = [event.get("event", "?")]
    session = event.get("session") or {}
    interaction = event.get("interaction") or {}
    if session.get("code"):
        code = session["code"]
        parts.append(f"{code[:3]} {code[3:6]} {code[6:]}")
    if interaction:
        parts.append(f"{interaction.get('channel')} #{interaction.get('id')}")
    if event.get("site"):
        parts.append(f"on {event['site'].get('name')}")
    if event.get("actor"):
        parts.append(f"by {event['actor']}")
    data = event.get("data") or {}
    if data:
        parts.append(" ".join(f"{key}={value}" for key, value in data.items()))
    return " ".join(str(part) for part in parts)


class Receiver(ThreadingHTTPServer):
    """The HTTP server. `received`: the events handled, once each; `deliveries`: the delivery id
    of every well-signed request, repeats and purposeful failures included."""

    daemon_threads = True

    def __init__(self, address, *, secret: str, fail_first: int = 0, out=sys.stdout):
        super().__init__(address, Handler)
        self.secret = secret
        self.fail_first = fail_first
        self.out = out
        self.lock = threading.Lock()
        self.requests = 0
        self.received: list[dict] = []
        self.deliveries: list[str] = []
        self.seen: set[str] = set()

    def say(self, line: str) -> None:
        if self.out is not None:
            print(line, file=self.out, flush=True)


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self.answer(413, "too large")
        body = self.rfile.read(length)
        try:
            verify(self.server.secret, self.headers.get("Cobrowse-Signature", ""), body)
        except InvalidSignature as e:
            self.server.say(f"rejected: {e}")
            return self.answer(400, str(e))
        delivery = self.headers.get("Cobrowse-Delivery", "")
        with self.server.lock:
            self.server.deliveries.append(delivery)
            self.server.requests += 1
            if self.server.requests <= self.server.fail_first:
                self.server.say(
                    f"failing on purpose ({self.server.requests}/{self.server.fail_first})"
                )
                return self.answer(500, "failing on purpose")
            repeat = delivery in self.server.seen
            self.server.seen.add(delivery)
            if not repeat:
                event = json.loads(body)
                self.server.received.append(event)
        if repeat:
            self.server.say(f"repeat of delivery {delivery}: already handled")
        else:
            self.server.say(describe(event))
        self.answer(204, "")

    def answer(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args) -> None:
        """Silent: the receiver prints one line per event instead of one per request."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secret", default=os.environ.get("WEBHOOK_SECRET", ""))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--fail-first", type=int, default=0, metavar="N")
    args = parser.parse_args()
    if not args.secret:
        parser.error("give the endpoint's signing secret: --secret or WEBHOOK_SECRET")
    server = Receiver((args.host, args.port), secret=args.secret, fail_first=args.fail_first)
    print(f"Receiving webhooks on http://{args.host}:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
