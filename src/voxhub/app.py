"""create_app(settings) -> FastAPI: lifespan, middleware, routers, the error map. No logic."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from voxhub import __version__
from voxhub.api import errors
from voxhub.api.limits import BodyLimitMiddleware
from voxhub.api.router import api_router
from voxhub.bootstrap import Container, build_container, close_container
from voxhub.settings import Settings

log = logging.getLogger("voxhub")

# Multipart framing and form fields ride on top of the file bytes.
BODY_OVERHEAD = 256 * 1024


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    """The ASGI app. Pass a ready `container` (tests) or let the lifespan build one."""
    settings = settings or (container.settings if container else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = container is None
        app.state.container = container or await build_container(settings)
        if owned:
            log.warning("voxhub is ready: open http://%s:%d/docs", settings.host, settings.port)
        try:
            yield
        finally:
            if owned:
                await close_container(app.state.container)

    app = FastAPI(
        title="voxhub",
        version=__version__,
        summary="Self-hostable voice cloning and speech",
        lifespan=lifespan,
    )
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.limits.max_upload_bytes + BODY_OVERHEAD
    )
    if container is not None:
        app.state.container = container  # also served without a lifespan (ASGI test transports)
    errors.install(app)
    app.include_router(api_router)
    return app
