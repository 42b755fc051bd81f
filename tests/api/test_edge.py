"""CORS allowlist, trusted hosts, security headers and the docs switch."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.api.conftest import make_settings
from voxhub.app import create_app
from voxhub.bootstrap import build_container, close_container
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry


async def test_cors_hosts_headers_and_docs_switch(tmp_path: Path, speaker_encoder) -> None:
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'e.db'}")
    settings.security.allow_origins = ["https://app.example"]
    settings.security.allowed_hosts = ["api.example", "test"]
    settings.security.docs_enabled = False
    c = await build_container(
        settings, engines=EngineRegistry({"fake": FakeEngine()}, "fake"), speaker=speaker_encoder
    )
    try:
        transport = httpx.ASGITransport(app=create_app(container=c))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            ok = await client.options(
                "/api/v1/voices",
                headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
            )
            assert ok.headers["access-control-allow-origin"] == "https://app.example"
            evil = await client.options(
                "/api/v1/voices",
                headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
            )
            assert "access-control-allow-origin" not in evil.headers
            health = await client.get("/health")
            assert health.headers["x-content-type-options"] == "nosniff"
            assert health.headers["x-frame-options"] == "DENY"
            assert (await client.get("/docs")).status_code == 404
            assert (await client.get("/openapi.json")).status_code == 404
            bad_host = await client.get("/health", headers={"Host": "evil.example"})
            assert bad_host.status_code == 400
    finally:
        await close_container(c)
