"""Rate limits: default, clone, TTS and login budgets, per principal, in process and in Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.conftest import client_for, create_voice, make_settings, make_user
from tests.conftest import need_server
from tests.media import PNG
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["memory", "redis"])
async def limited_container(
    request: pytest.FixtureRequest, tmp_path: Path, speaker_encoder: object
) -> AsyncIterator[Container]:
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'rl.db'}")
    if request.param == "redis":
        import redis

        try:
            with redis.Redis.from_url(REDIS_URL, socket_timeout=2) as probe:
                probe.ping()
        except redis.RedisError as exc:
            need_server(f"Redis not reachable at {REDIS_URL}: {exc}")
        settings.redis_url = REDIS_URL
        settings.jobs.job_queue = "memory"  # Redis for the limits; jobs stay in this process
    c = await build_container(
        settings, engines=EngineRegistry({"fake": FakeEngine()}, "fake"), speaker=speaker_encoder
    )
    if request.param == "redis":
        # A namespace of its own, so parallel or earlier runs do not share budgets.
        from voxhub.security.ratelimit import RateLimiter

        await c.limiter.aclose()
        c.limiter = RateLimiter(settings, namespace=f"test-{uuid.uuid4().hex}")
    yield c
    await close_container(c)


async def test_default_budget_and_headers(limited_container: Container) -> None:
    a = await make_user(limited_container, "a@example.com")
    b = await make_user(limited_container, "b@example.com")
    async with client_for(limited_container, a) as ca, client_for(limited_container, b) as cb:
        for i in range(60):
            r = await ca.get("/api/v1/voices")
            assert r.status_code == 200, i
        assert r.headers["ratelimit-policy"] == '"default";q=60;w=60'
        assert r.headers["ratelimit"].startswith('"default";r=0;t=')
        r = await ca.get("/api/v1/voices")
        assert r.status_code == 429
        assert 1 <= int(r.headers["retry-after"]) <= 60
        body = r.json()
        assert body["code"] == "rate_limited" and body["violated-policies"] == ["default"]
        assert r.headers["content-type"] == "application/problem+json"
        assert (await cb.get("/api/v1/voices")).status_code == 200  # B has a budget of its own


async def test_clone_and_tts_budgets(limited_container: Container) -> None:
    a = await make_user(limited_container, "a@example.com")
    async with client_for(limited_container, a) as ca:
        for _ in range(5):
            r = await ca.post(
                "/api/v1/voices",
                files={"file": ("x.wav", PNG)},
                data={"name": "x", "consent": "self"},
            )
            assert r.status_code == 415
        r = await ca.post(
            "/api/v1/voices", files={"file": ("x.wav", PNG)}, data={"name": "x", "consent": "self"}
        )
        assert r.status_code == 429 and r.json()["violated-policies"] == ["clone"]

    b = await make_user(limited_container, "b@example.com")
    async with client_for(limited_container, b) as cb:
        vid = (await create_voice(cb))["id"]
        for i in range(10):
            r = await cb.post("/api/v1/speech", json={"voice_id": vid, "text": f"Line {i}."})
            assert r.status_code == 200
        r = await cb.post("/api/v1/speech", json={"voice_id": vid, "text": "One too many."})
        assert r.status_code == 429 and r.json()["violated-policies"] == ["tts"]


async def test_login_brute_force_is_limited_per_ip_and_email(limited_container: Container) -> None:
    a = await make_user(limited_container, "a@example.com")
    async with client_for(limited_container, None) as anon:
        codes = [
            (
                await anon.post(
                    "/api/v1/auth/login", json={"email": a.email, "password": "wrong guess"}
                )
            ).status_code
            for _ in range(10)
        ]
        assert codes[:5] == [401] * 5 and codes[5:] == [429] * 5
        other = await anon.post(
            "/api/v1/auth/login", json={"email": "z@example.com", "password": "x"}
        )
        assert other.status_code == 401
