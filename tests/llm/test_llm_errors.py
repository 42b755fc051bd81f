"""LLM errors through the one error map: 503 with Retry-After, 502 for unusable answers."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from voxhub.api import errors
from voxhub.core.errors import LlmBadOutput, LlmUnavailable


def app() -> FastAPI:
    api = FastAPI()
    errors.install(api)

    @api.get("/preparing")
    async def preparing() -> None:
        raise LlmUnavailable("preparing the local model", retry_after=5)

    @api.get("/down")
    async def down() -> None:
        raise LlmUnavailable("The language model server cannot be reached.")

    @api.get("/bad")
    async def bad() -> None:
        raise LlmBadOutput("not JSON", problems=["$: missing age"])

    return api


async def test_unavailable_is_503_with_retry_after() -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/preparing")
        assert r.status_code == 503
        assert r.headers["retry-after"] == "5"
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "llm_unavailable"
        assert r.json()["detail"] == "preparing the local model"
        r = await client.get("/down")
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        r = await client.get("/bad")
        assert r.status_code == 502
        assert r.json()["code"] == "llm_bad_output"
        assert r.json()["problems"] == ["$: missing age"]
