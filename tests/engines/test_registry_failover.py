"""A failover naming an engine that is not enabled is refused when the registry is built."""

from __future__ import annotations

import pytest

from voxhub.core.errors import EngineNotFound
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry


def engines() -> dict[str, FakeEngine]:
    return {"fake": FakeEngine(), "other": FakeEngine()}


def test_a_failover_between_enabled_engines_is_kept() -> None:
    registry = EngineRegistry(engines(), "fake", {"other": ["fake"]})
    assert registry.failover == {"other": ["fake"]}


@pytest.mark.parametrize(
    ("failover", "named"),
    [
        ({"fake": ["elevenlab"]}, "'elevenlab', which is not enabled"),  # a typo in the target
        ({"elevenlabs": ["fake"]}, "'elevenlabs', which is not enabled"),  # one not running
        ({"fake": ["fake"]}, "'fake' cannot fail over to itself"),
    ],
)
def test_a_failover_naming_what_does_not_run_is_refused(
    failover: dict[str, list[str]], named: str
) -> None:
    with pytest.raises(EngineNotFound, match=named):
        EngineRegistry(engines(), "fake", failover)
