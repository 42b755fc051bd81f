"""create_app(settings) -> FastAPI: lifespan, middleware, routers, the error map. No logic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from voxhub import __version__
from voxhub.accounts.first_run import (
    announcement,
    ensure_first_admin,
    local_admin_id,
)
from voxhub.accounts.secrets import InsecureConfiguration
from voxhub.api import errors, openapi
from voxhub.api.limits import BodyLimitMiddleware
from voxhub.api.router import api_router
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container, Role
from voxhub.core.addresses import is_loopback
from voxhub.observability import router as observability
from voxhub.security.headers import ResponseHeadersMiddleware
from voxhub.security.idempotency import IdempotencyMiddleware
from voxhub.settings import Settings
from voxhub.web import pages as web

EXPOSED_HEADERS = [
    "X-Voxhub-Generation-Id",
    "X-Voxhub-Engine",
    "X-Voxhub-Duration",
    "X-Voxhub-Cache",
    "X-Voxhub-Generated",
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
    "Idempotent-Replayed",
    "Location",
    "X-Request-ID",
]
# Multipart framing and form fields ride on top of the file bytes.
BODY_OVERHEAD = 256 * 1024


async def announce(c: Container) -> None:
    """First start: make the admin and print how to get in; always: where to open voxhub."""
    s = c.settings
    creds = await ensure_first_admin(c) if s.security.bootstrap_admin else None
    c.extras["local_admin_id"] = await local_admin_id(c)
    url = f"http://{s.host}:{s.port}"
    lines = [f"voxhub is ready: open {url}/  (API docs: {url}/docs)"]
    if creds is not None:
        lines += announcement(creds, url)
    # print, never a logger: log handlers ship records to files and collectors; secrets stay here.
    print("\n".join(lines), flush=True)


def check_bind(settings: Settings) -> None:
    """Refuse to serve without authentication, or without consent checks, beyond this machine."""
    if settings.security.auth == "off" and not is_loopback(settings.host):
        raise InsecureConfiguration(
            "VOXHUB_AUTH=off is only allowed when binding a loopback address"
        )
    if settings.consent.consent_policy == "off" and not is_loopback(settings.host):
        raise InsecureConfiguration(
            "VOXHUB_CONSENT_POLICY=off (cloning any voice without consent) is only for a "
            f"private instance on a loopback address, not {settings.host}: use attestation"
        )


def install_edge(app: FastAPI, settings: Settings) -> None:
    """CORS allowlist and trusted hosts (outermost, so refusals cost nothing)."""
    sec = settings.security
    if sec.allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=sec.allow_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=EXPOSED_HEADERS,
        )
    if sec.allowed_hosts and sec.allowed_hosts != ["*"]:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=sec.allowed_hosts)


def create_app(
    settings: Settings | None = None, container: Container | None = None, role: Role = "all"
) -> FastAPI:
    """The ASGI app. Pass a ready `container` (tests) or let the lifespan build one for `role`
    (`voxhub serve` passes "api" in scale-out mode: no engine, jobs go to workers)."""
    settings = settings or (container.settings if container else Settings())
    check_bind(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = container is None
        app.state.container = container or await build_container(settings, role=role)
        if owned:
            await announce(app.state.container)
        try:
            yield
        finally:
            if owned:
                await close_container(app.state.container)

    docs = settings.security.docs_enabled
    app = FastAPI(
        title="voxhub",
        version=__version__,
        summary="Self-hostable voice cloning and speech",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.limits.max_upload_bytes + BODY_OVERHEAD
    )
    app.add_middleware(ResponseHeadersMiddleware)
    install_edge(app, settings)
    observability.install(app)  # outermost: counts and names every request, refusals too
    if container is not None:
        app.state.container = container  # also served without a lifespan (ASGI test transports)
    errors.install(app)
    app.include_router(api_router)
    web.install(app)
    openapi.install(app)
    return app
