"""Which engines are down: noted when one fails to answer, so later requests fail fast (503
with Retry-After) or fall over to another engine, instead of each waiting on it again."""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)


# However long a provider asks to be left alone, an engine is tried again within the hour.
MAX_DOWN_S = 3600.0


class EngineHealth:
    """Engines marked down until a moment (monotonic); thread-safe, per process."""

    def __init__(self, default_down_s: float = 30.0) -> None:
        self.default_down_s = default_down_s
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def mark_down(self, engine: str, seconds: float | None = None) -> None:
        """`engine` failed to answer: down for `seconds` (the provider's Retry-After) or the
        default. A later, longer outage extends it; a shorter one does not shorten it."""
        down = self.default_down_s if seconds is None else min(MAX_DOWN_S, max(1.0, seconds))
        until = time.monotonic() + down
        with self._lock:
            if until > self._until.get(engine, 0.0):
                self._until[engine] = until
        log.warning("engine %s is down for %.0f s", engine, until - time.monotonic())

    def mark_up(self, engine: str) -> None:
        """`engine` answered: it is up again (an earlier mark ends now)."""
        with self._lock:
            self._until.pop(engine, None)

    def down_for(self, engine: str) -> float:
        """Seconds until `engine` may be tried again; 0 when it is up."""
        with self._lock:
            until = self._until.get(engine)
        if until is None:
            return 0.0
        left = until - time.monotonic()
        return left if left > 0 else 0.0
