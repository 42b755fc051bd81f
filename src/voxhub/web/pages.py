"""`/` and `/app/*`: the web app's page and its files, under a strict Content-Security-Policy.

The page runs no inline script and loads nothing from elsewhere; Trusted Types are required, so
no string can ever reach an HTML sink (user text is always set as text).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, JSONResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from voxhub.api.deps import ContainerDep
from voxhub.audio.encode import FORMATS

STATIC = Path(str(files("voxhub.web") / "static"))
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    ]
)
PAGE_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"])
async def index() -> FileResponse:
    """The web app."""
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=PAGE_HEADERS)


@router.get("/app/config.json")
async def config(c: ContainerDep) -> JSONResponse:
    """What the page needs to know of this instance (nothing secret)."""
    return JSONResponse(
        {
            "max_text_chars": c.settings.limits.max_text_chars,
            "max_upload_bytes": c.settings.limits.max_upload_bytes,
            "formats": sorted(FORMATS),
            # How often the page renews its session cookie (before the access token lapses).
            "access_ttl_s": c.settings.security.access_token_ttl_s,
        },
        headers={"Cache-Control": "no-cache"},
    )


class _Assets(StaticFiles):
    """The page's files: revalidated on each load (ETag), under the page's CSP."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.lower().encode(), v.encode()) for k, v in PAGE_HEADERS.items()),
                ]
            await send(message)

        await super().__call__(scope, receive, with_headers)


def install(app: FastAPI) -> None:
    """Serve the page at `/` and its files under `/app/`."""
    app.include_router(router)
    app.mount("/app", _Assets(directory=STATIC), name="web")
