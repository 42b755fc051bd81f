"""Engines are plugins: the `voxhub.engines` entry-point group maps a name to a class."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import Any

from voxhub.core.errors import EngineNotFound
from voxhub.engines.base import Engine
from voxhub.engines.health import EngineHealth

log = logging.getLogger(__name__)
GROUP = "voxhub.engines"


def available_engines() -> dict[str, Any]:
    """Installed engine classes by name (not loaded, not instantiated)."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


class EngineRegistry:
    """The engines this process runs, loaded and warmed at start-up."""

    def __init__(
        self,
        engines: dict[str, Engine],
        default: str,
        failover: dict[str, list[str]] | None = None,
        health: EngineHealth | None = None,
    ) -> None:
        if default not in engines:
            raise EngineNotFound(f"default engine {default!r} is not enabled", engine=default)
        self._engines = engines
        self.default = default
        # Where speech goes when an engine is down: engine -> engines to try, in order.
        self.failover = {name: list(others) for name, others in (failover or {}).items()}
        _check_failover(self.failover, set(engines))
        self.health = health or EngineHealth()

    @classmethod
    def from_entry_points(
        cls,
        names: list[str],
        default: str,
        failover: dict[str, list[str]] | None = None,
        health: EngineHealth | None = None,
        **deps: Any,
    ) -> EngineRegistry:
        """Instantiate the named engines; each class takes the same keyword dependencies."""
        found = available_engines()
        engines: dict[str, Engine] = {}
        for name in names:
            if name not in found:
                raise EngineNotFound(f"no engine named {name!r} is installed", engine=name)
            engines[name] = found[name].load()(**deps)
        return cls(engines, default, failover, health)

    def get(self, name: str | None = None) -> Engine:
        """The engine called `name`, or the default one."""
        key = name or self.default
        try:
            return self._engines[key]
        except KeyError as exc:
            raise EngineNotFound(f"engine {key!r} is not enabled", engine=key) from exc

    def names(self) -> set[str]:
        """The enabled engines' names."""
        return set(self._engines)

    def all(self) -> list[Engine]:
        """Every enabled engine, default first."""
        return sorted(self._engines.values(), key=lambda e: e.info.name != self.default)

    async def load_all(self) -> None:
        """Load and warm every engine."""
        for engine in self._engines.values():
            log.info("loading engine %s %s", engine.info.name, engine.info.version)
            await engine.load()

    async def aclose(self) -> None:
        """Release every engine."""
        for engine in self._engines.values():
            await engine.aclose()


def _check_failover(failover: dict[str, list[str]], enabled: set[str]) -> None:
    """Refuse, at start-up, a failover naming an engine this process does not run: a typo
    would otherwise surface only when an engine goes down, as speech that cannot fail over."""
    for name, others in failover.items():
        for engine in (name, *others):
            if engine not in enabled:
                raise EngineNotFound(
                    f"VOXHUB_ENGINE_FAILOVER names {engine!r}, which is not enabled "
                    f"(VOXHUB_ENGINES: {sorted(enabled)})",
                    engine=engine,
                )
        if name in others:
            raise EngineNotFound(
                f"VOXHUB_ENGINE_FAILOVER: {name!r} cannot fail over to itself", engine=name
            )
