"""Rate limits per principal (per IP when anonymous), in process or in Redis (`limits`)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from voxhub.settings import Settings


@dataclass(frozen=True)
class Decision:
    policy: str
    allowed: bool
    limit: int
    remaining: int
    reset_s: int

    def headers(self) -> dict[str, str]:
        """IETF RateLimit draft headers."""
        return {
            "RateLimit-Policy": f'"{self.policy}";q={self.limit};w=60',
            "RateLimit": f'"{self.policy}";r={self.remaining};t={self.reset_s}',
        }


class RateLimiter:
    """Moving-window limits; several API processes agree on them when Redis is configured."""

    def __init__(self, settings: Settings, namespace: str = "voxhub") -> None:
        r = settings.rate_limits
        self.enabled = r.enabled
        self.per_minute = {
            "default": r.default_per_minute,
            "clone": r.clone_per_minute,
            "tts": r.tts_per_minute,
            "login": r.login_per_minute,
        }
        self.storage: Storage
        if settings.redis_url:
            url = settings.redis_url.replace("redis://", "async+redis://", 1)
            url = url.replace("rediss://", "async+rediss://", 1)
            # redis-py (already a dependency) rather than coredis, so connections can be closed.
            self.storage = RedisStorage(url, key_prefix=f"{namespace}:rl", implementation="redispy")
        else:
            self.storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self.storage)

    async def aclose(self) -> None:
        """Close Redis connections, if any."""
        bridge = getattr(self.storage, "bridge", None)
        client = getattr(bridge, "storage", None)
        if client is not None:
            await client.aclose()

    async def hit(self, policy: str, key: str) -> Decision:
        """Count one request of `key` against `policy`."""
        limit = self.per_minute[policy]
        item = RateLimitItemPerMinute(limit)
        allowed = await self._limiter.hit(item, policy, key)
        stats = await self._limiter.get_window_stats(item, policy, key)
        reset = max(1, min(60, math.ceil(stats.reset_time - time.time())))
        return Decision(policy, allowed, limit, max(0, stats.remaining), reset)
