"""Rate-limit dependencies: `limited("tts")` on a route, the default policy on every router."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from voxhub.accounts.deps import MaybePrincipal
from voxhub.api.deps import ContainerDep
from voxhub.container import Container
from voxhub.core.errors import RateLimited


def client_key(request: Request) -> str:
    """The peer address: the identity of anonymous callers."""
    return f"ip:{request.client.host if request.client else 'unknown'}"


async def enforce(c: Container, request: Request, policy: str, key: str) -> None:
    """Count this request; raise 429 when the policy's budget is spent."""
    limiter = c.limiter
    if not limiter.enabled:
        return
    decision = await limiter.hit(policy, key)
    seen: list[Any] = getattr(request.state, "rate_limits", [])
    request.state.rate_limits = [*seen, decision]
    if not decision.allowed:
        raise RateLimited(
            f"rate limit '{policy}' of {decision.limit} per minute reached",
            retry_after=decision.reset_s,
            headers=decision.headers(),
            policy=policy,
            **{"violated-policies": [policy]},
        )


def limited(policy: str) -> Any:
    """A dependency counting the caller (principal, else IP) against `policy`."""

    async def dependency(request: Request, c: ContainerDep, p: MaybePrincipal) -> None:
        key = f"user:{p.user_id}" if p is not None else client_key(request)
        await enforce(c, request, policy, key)

    return Depends(dependency)
