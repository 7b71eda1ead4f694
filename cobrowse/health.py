"""GET /healthz for load balancers and GET /metrics for Prometheus.

Both are answered by OpsMiddleware, first in settings.MIDDLEWARE, before anything else looks at
the request: load balancers and Prometheus call each worker by its address (a Host that is not
in ALLOWED_HOSTS), over plain HTTP (no HTTPS redirect), without cookies (no session, no CSRF).

/healthz is 200 when this worker reaches the database (`SELECT 1`) and the channel layer (a
message sent to itself and received back), each within HEALTH_TIMEOUT; otherwise 503 with the
names of the checks that failed. A 503 is an answer, not an error: it is not logged per request;
the worker logs one WARNING when a check starts failing and one INFO line when all pass again.
"""

import asyncio
import contextlib
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from channels.layers import BaseChannelLayer, get_channel_layer
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse

from cobrowse import metrics

log = logging.getLogger("cobrowse.health")

HEALTH_TIMEOUT = 2.0  # seconds per check; both run at once
HEALTH_EVENT = "health.ping"


# The checks


def _select_one() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        # A kept connection (conn_max_age) that broke would fail every later check: reconnect.
        with contextlib.suppress(Exception):
            connection.close()
        raise


async def check_database() -> None:
    await sync_to_async(_select_one)()


class _Probe:
    """One channel of this worker's own, reused for every check: the Redis pub/sub layer keeps a
    subscription for each channel it was asked to receive from, so a new one per check would
    add one a check. A check that failed drops it (the layer may have dropped it too)."""

    def __init__(self) -> None:
        self.channel: str | None = None
        self.lock = asyncio.Lock()


# Per event loop (a layer's connections and queues belong to one), per layer instance.
_probes: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, _Probe]]" = (
    weakref.WeakKeyDictionary()
)


async def check_channel_layer() -> None:
    layer: BaseChannelLayer | None = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")
    probes = _probes.setdefault(asyncio.get_running_loop(), {})
    probe = probes.setdefault(id(layer), _Probe())
    async with probe.lock:
        try:
            if probe.channel is None:
                probe.channel = await layer.new_channel()
            nonce = uuid.uuid4().hex
            await layer.send(probe.channel, {"type": HEALTH_EVENT, "nonce": nonce})
            # A message left over from a check that timed out comes first: skip it.
            while (await layer.receive(probe.channel)).get("nonce") != nonce:
                pass
        except BaseException:
            probe.channel = None
            raise


async def _outcome(check: Callable[[], Awaitable[None]]) -> tuple[str, str]:
    """("ok", "") or (what a load balancer may read, what the log gets)."""
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            await check()
    except TimeoutError:
        return "timeout", f"no answer within {HEALTH_TIMEOUT:g} s"
    except Exception as error:
        # Only the exception's class in the response: its message may name internal hosts.
        return f"error: {type(error).__name__}", f"{type(error).__name__}: {error}"
    return "ok", ""


_failing: dict[str, str] = {}  # check name -> outcome, as of this worker's last /healthz


def _log_changes(outcomes: dict[str, tuple[str, str]]) -> None:
    for name, (outcome, detail) in outcomes.items():
        if outcome == "ok":
            if _failing.pop(name, None) is not None:
                log.info("health: %s reachable again", name)
        elif _failing.get(name) != outcome:
            _failing[name] = outcome
            log.warning("health: %s check failing (%s)", name, detail)


async def healthz(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    database, layer = await asyncio.gather(_outcome(check_database), _outcome(check_channel_layer))
    outcomes = {"database": database, "channel_layer": layer}
    _log_changes(outcomes)
    failed = [name for name, (outcome, _) in outcomes.items() if outcome != "ok"]
    body: dict = {
        "status": "unavailable" if failed else "ok",
        "checks": {name: outcome for name, (outcome, _) in outcomes.items()},
    }
    if failed:
        body["failed"] = failed
    response = JsonResponse(body, status=503 if failed else 200)
    response["Cache-Control"] = "no-store"
    # Django's request logger would write an ERROR line for every 503 a probe gets.
    setattr(response, "_has_been_logged", True)  # noqa: B010 (Django's own marker, not typed)
    return response


async def metrics_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    if not metrics.may_scrape(request):
        return HttpResponse(
            "Forbidden: /metrics needs the bearer token (COBROWSE_METRICS_TOKEN) or an address "
            "in COBROWSE_METRICS_ALLOW.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    # The collectors read the database: in the thread that does the ORM's work.
    body, content_type = await sync_to_async(metrics.render)(request.headers.get("Accept"))
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response


ENDPOINTS: dict[str, Callable[[HttpRequest], Awaitable[HttpResponse]]] = {
    "/healthz": healthz,
    "/metrics": metrics_view,
}


class OpsMiddleware:
    """Answer /healthz and /metrics; hand everything else down the middleware chain."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        endpoint = ENDPOINTS.get(request.path_info)
        if endpoint is None:
            return self.get_response(request)
        return async_to_sync(endpoint)(request)  # WSGI and Django's sync test client

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        endpoint = ENDPOINTS.get(request.path_info)
        if endpoint is None:
            return await self.get_response(request)
        return await endpoint(request)
