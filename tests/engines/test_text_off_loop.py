"""The embedded engine plans its text (normalise, expand, split) in a thread, not on the loop."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from voxhub.engines.base import SynthesisParams, VoiceProfile
from voxhub.engines.embedded import EmbeddedEngine
from voxhub.engines.embedded import engine as embedded
from voxhub.engines.embedded.pieces import Piece
from voxhub.settings import Settings


async def test_the_engine_plans_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned_on: list[int] = []

    def recording_plan(text: str, language: str) -> list[Piece]:
        planned_on.append(threading.get_ident())
        return []  # nothing to say, so no model is needed

    profile = SimpleNamespace(style=np.zeros((510, 256), np.float32), f0_scale=1.0, eq_db=None)
    monkeypatch.setattr(embedded, "plan", recording_plan)
    monkeypatch.setattr(embedded, "decode_profile", lambda data: profile)
    engine = EmbeddedEngine(Settings(home=tmp_path), speaker_encoder=None)  # type: ignore[arg-type]
    monkeypatch.setattr(engine, "_require_loaded", lambda: None)
    voice = VoiceProfile(embedded.NAME, embedded.VERSION, b"")

    chunks = [c async for c in engine.synthesize("Hello.", voice, SynthesisParams(language="en"))]

    assert chunks == []
    assert len(planned_on) == 1 and planned_on[0] != threading.get_ident()
