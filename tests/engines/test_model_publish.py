"""The embedded model publishes its session last: `infer` reads it without the lock, so a
thread that sees a session must see the run options made with it (never a session alone)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voxhub.engines.embedded.model import KokoroModel


class Watched(KokoroModel):
    """The real model, noting for each session it publishes whether its run options were
    already there."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_session" and value is not None:
            ready = getattr(self, "_run_options", None) is not None
            self.__dict__.setdefault("published", []).append(ready)
        super().__setattr__(name, value)


def test_the_session_is_published_after_its_run_options(tmp_path: Path) -> None:
    model = Watched(tmp_path / "kokoro", threads=1)
    model.load()
    assert model.published == [True]  # type: ignore[attr-defined]
    assert model.infer([50, 83, 54], [0.0] * 256).size > 0  # and it speaks
    model.close()
