"""`/ready` and `/metrics` on the API (`/health`, the liveness answer, is seed 002's route).

Who may read `/metrics`: the numbers name no user and carry no secret (labels are kinds, codes,
engines and route templates), but they describe the traffic, so they are not public:
- with `VOXHUB_METRICS_TOKEN` set: `Authorization: Bearer <that token>` (Prometheus'
  `authorization` scrape setting), or an admin's credentials;
- without it: a direct loopback caller (no `Forwarded` / `X-Forwarded-For` / `X-Real-IP`, so
  a reverse proxy on the same machine does not make the world local), or anyone when
  `VOXHUB_AUTH=off` (only allowed on a loopback bind), else an admin's credentials.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from voxhub.accounts.deps import resolve_principal
from voxhub.api.deps import ContainerDep
from voxhub.api.errors import problem
from voxhub.container import Container
from voxhub.core.addresses import is_loopback
from voxhub.core.errors import Forbidden, Unauthenticated
from voxhub.observability import metrics
from voxhub.observability.health import readiness

router = APIRouter(include_in_schema=False)  # probes, not API: no rate limit, no schema
FORWARDING = ("forwarded", "x-forwarded-for", "x-real-ip")


def direct_loopback(request: Request) -> bool:
    """The caller is this machine, not someone relayed by a proxy running on it."""
    host = request.client.host if request.client else None
    if host is None or not is_loopback(host):
        return False
    return not any(name in request.headers for name in FORWARDING)


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def require_metrics_reader(request: Request, c: Container) -> None:
    """Let the caller read metrics, or raise 401 / 403 (see the module docstring)."""
    token = c.settings.metrics_token
    given = _bearer(request)
    if token is not None:
        if given is not None and hmac.compare_digest(
            given.encode(), token.get_secret_value().encode()
        ):
            return
    elif c.settings.security.auth == "off" or direct_loopback(request):
        return
    async with c.sessions() as session:
        principal = await resolve_principal(c, session, request.headers)
    if principal is None:
        raise Unauthenticated("metrics need VOXHUB_METRICS_TOKEN or an admin's credentials")
    if not principal.is_admin:
        raise Forbidden("metrics are for admins")


@router.get("/metrics")
async def metrics_endpoint(request: Request, c: ContainerDep) -> Response:
    """Prometheus text format; the queue gauges are refreshed first (cached for a few s)."""
    await require_metrics_reader(request, c)
    await metrics.refresh_queue_depth(c)
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


@router.get("/ready")
async def ready(c: ContainerDep) -> Response:
    """200 when every dependency answers; 503 problem+json naming the ones that do not."""
    checks = await readiness(c)
    report: dict[str, Any] = {
        ch.component: {"ok": ch.ok, "detail": ch.detail, "seconds": round(ch.seconds, 4)}
        for ch in checks
    }
    failing = [ch.component for ch in checks if not ch.ok]
    headers = {"Cache-Control": "no-store"}
    if not failing:
        return JSONResponse({"status": "ready", "checks": report}, headers=headers)
    resp = problem(
        503,
        "not_ready",
        "Not ready",
        "not answering: " + ", ".join(failing),
        failing=failing,
        checks=report,
    )
    resp.headers.update(headers)
    return resp


def install(app: Any) -> None:
    """The request middleware (outermost of voxhub's, so refusals are counted too) and routes."""
    from voxhub.observability.http import RequestContextMiddleware

    app.add_middleware(RequestContextMiddleware)
    app.include_router(router)
