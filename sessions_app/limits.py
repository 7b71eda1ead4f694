"""Abuse limits: failed join attempts per agent and per address, and frames per second per socket.

Join failures are counted in Django's cache (Redis when REDIS_URL is set, so every worker sees the
same counts; process memory otherwise). Frame rates are counted per socket, in the consumer.
Addresses come from `client_address`, which trusts X-Forwarded-For only as far as our proxies.
"""

import ipaddress
import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import ngettext

from sessions_app.errors import ServiceError

# Refusals that mean "that code was wrong": the ones someone guessing codes gets.
GUESS_CODES = ("session_not_found", "bad_code")


def client_address(source) -> str | None:
    """The client's address as our own proxies saw it: an ASGI scope or an HTTP request.

    Each proxy appends the address it was connected from to X-Forwarded-For, so with
    COBROWSE_TRUSTED_PROXIES = N the N-th entry from the right is the one our outermost proxy
    wrote; anything left of it is whatever the client sent. 0: the header is ignored and the
    socket's peer counts. A request that did not pass all N proxies counts as its peer.
    """
    if isinstance(source, dict):
        peer = (source.get("client") or [None])[0]
        forwarded = [
            value.decode("latin1")
            for key, value in source.get("headers", [])
            if key.lower() == b"x-forwarded-for"
        ]
    else:  # Django's request, or REST framework's wrapping it
        peer = source.META.get("REMOTE_ADDR") or None
        forwarded = [source.META.get("HTTP_X_FORWARDED_FOR", "")]
    trusted = settings.COBROWSE_TRUSTED_PROXIES
    if trusted <= 0:
        return peer
    entries = [entry.strip() for value in forwarded for entry in value.split(",")]
    entries = [entry for entry in entries if entry]
    if len(entries) < trusted:
        return peer
    try:
        return str(ipaddress.ip_address(entries[-trusted]))
    except ValueError:  # a proxy that writes ports or names: not what we were told to trust
        return peer


def _keys(*, agent_id: int | None, ip: str | None) -> list[tuple[str, int]]:
    keys = []
    if agent_id is not None:
        keys.append((f"join-fail:agent:{agent_id}", settings.COBROWSE_JOIN_FAILURES_PER_AGENT))
    if ip:
        keys.append((f"join-fail:ip:{ip}", settings.COBROWSE_JOIN_FAILURES_PER_IP))
    return keys


def join_check(*, agent_id: int | None, ip: str | None) -> None:
    """Refuse further joins from an agent or an address that has guessed wrong too often."""
    window = settings.COBROWSE_JOIN_WINDOW
    for key, limit in _keys(agent_id=agent_id, ip=ip):
        if limit > 0 and (cache.get(key) or 0) >= limit:
            raise ServiceError(
                "too_many_attempts",
                ngettext(
                    "Too many wrong session IDs. Wait %(count)s minute, then check the digits "
                    "with the customer.",
                    "Too many wrong session IDs. Wait %(count)s minutes, then check the digits "
                    "with the customer.",
                    max(1, window // 60),
                )
                % {"count": max(1, window // 60)},
                close_code=4429,
                http_status=429,
            )


def join_failed(*, agent_id: int | None, ip: str | None) -> None:
    window = settings.COBROWSE_JOIN_WINDOW
    for key, _limit in _keys(agent_id=agent_id, ip=ip):
        # add() starts the window on the first failure; incr() keeps its expiry.
        if not cache.add(key, 1, timeout=window):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=window)


class FrameRate:
    """A token bucket: `rate` frames per second on average, bursts up to `burst` frames."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.warned_at = 0.0

    def allow(self) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def should_warn(self) -> bool:
        """One error frame a second at most, so that a flood is not answered by a flood."""
        now = time.monotonic()
        if now - self.warned_at >= 1.0:
            self.warned_at = now
            return True
        return False


class GuardBudget:
    """Guard CPU one customer page may use: `per_minute` seconds a minute, refilled continuously,
    at most a minute's worth saved up. A frame is judged only while some budget is left; its cost
    is paid after (a frame never costs more than one frame's time over the budget)."""

    def __init__(self, per_minute: float) -> None:
        self.per_minute = per_minute
        self.left = float(per_minute)
        self.stamp = time.monotonic()

    def allows(self) -> bool:
        if self.per_minute <= 0:
            return True
        now = time.monotonic()
        self.left = min(self.per_minute, self.left + (now - self.stamp) * self.per_minute / 60)
        self.stamp = now
        return self.left > 0

    def spend(self, seconds: float) -> None:
        if self.per_minute > 0:
            self.left -= seconds
