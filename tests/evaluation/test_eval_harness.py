"""The harness end to end on the deterministic fake engine: the report's structure, not quality."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from voxhub.audio.recognizer import Recognizer
from voxhub.audio.speaker import SpeakerEncoder
from voxhub.audio.types import Audio
from voxhub.engines.base import ProgressCallback, Reference, VoiceProfile
from voxhub.engines.fake import FakeEngine
from voxhub.evaluation import TEST_SENTENCES, evaluate_voice, report
from voxhub.evaluation.harness import RunConfig, run_evaluation
from voxhub.evaluation.quality import Dnsmos
from voxhub.evaluation.speakers import load_manifest
from voxhub.evaluation.voice import Meters
from voxhub.settings import LimitSettings

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class _Pack:
    name: str
    gender: str
    is_english: bool = True


class RefiningFake(FakeEngine):
    """The fake engine plus what the harness looks for: refinement and stock packs."""

    packs = [_Pack("af_one", "f"), _Pack("af_two", "f"), _Pack("am_one", "m")]

    async def refine(
        self, reference: Reference, profile: VoiceProfile, progress: ProgressCallback
    ) -> VoiceProfile:
        progress(1.0, "done")
        return await self.enroll(Reference(reference.samples[::2], reference.sample_rate))

    def stock_profile(self, name: str) -> VoiceProfile:
        # A profile in FakeEngine's format: a pitch, here one per pack.
        buf = io.BytesIO()
        np.save(buf, np.array([100.0 + 20 * self.packs.index(_find(self.packs, name))], np.float32))
        return VoiceProfile(self.info.name, self.info.version, buf.getvalue())


def _find(packs: list[_Pack], name: str) -> _Pack:
    return next(p for p in packs if p.name == name)


@pytest.fixture(scope="module")
def meters(speaker_encoder: SpeakerEncoder) -> Meters:
    return Meters(speaker_encoder, Recognizer(threads=2), Dnsmos(threads=2))


async def test_harness_report_structure(meters: Meters, shared: Path, tmp_path: Path) -> None:
    speech = shared / "data" / "speech"
    by_id = {s.id: s for s in load_manifest(speech / "MANIFEST.tsv")}
    # Two speakers evaluated; the third only serves as a stranger.
    pool = [by_id["VCTK-p225"], by_id["CMUARCTIC-clb"], by_id["LibriSpeech-1998"]]
    cfg = RunConfig(speech, pool, 2, LimitSettings(), sentences=TEST_SENTENCES[:1])
    result = await run_evaluation(RefiningFake(), meters, cfg, log=lambda _m: None)

    assert [s["speaker"] for s in result["speakers"]] == ["VCTK-p225", "CMUARCTIC-clb"]
    assert len(result["real"]) == 4
    assert all("wer" in r and "dnsmos" in r for r in result["real"])  # all four have transcripts
    for row in result["speakers"]:
        assert set(row["profiles"]) == {"instant", "refined", "stock"}
        assert row["profiles"]["stock"]["pack"] in {"af_one", "af_two"}  # the speaker's gender
        assert -1 <= row["stranger"] < row["same"] <= 1
        for prof in row["profiles"].values():
            for key in ("similarity", "normalised", "wer", "rtf", "first_chunk_s", "dnsmos"):
                assert isinstance(prof[key], float), key
            assert [s["text"] for s in prof["sentences"]] == list(TEST_SENTENCES[:1])
        assert set(row["profiles"]["instant"]["timing"]) == {"prepare_s", "embed_s", "enroll_s"}
        assert row["profiles"]["refined"]["time_s"] >= 0

    summary = report.summarise(result["speakers"])
    assert set(summary) == {"instant", "refined", "stock"}
    assert summary["instant"]["speakers"] == 2
    full = {
        "date": "2000-01-02",
        "machine": report.machine(),
        "engine": {"name": "fake", "version": "fake-1"},
        "recognizer": "tiny.en",
        "config": {"speakers": 2, "sentences": list(TEST_SENTENCES[:1]), "refine": "on"},
        "summary": summary,
        "real_summary": report.summarise_real(result["real"]),
        **result,
    }
    paths = report.write(full, tmp_path)
    assert sorted(p.name for p in paths) == sorted(
        ["eval-2000-01-02.json", "eval-2000-01-02.md", "latest.json", "latest.md"]
    )
    assert json.loads((tmp_path / "latest.json").read_text())["summary"] == summary
    md = (tmp_path / "eval-2000-01-02.md").read_text()
    assert "| metric | instant | refined | best stock pack | target |" in md
    assert "VCTK-p225" in md and "cmuarctic_clb_arctic_a0022.wav" in md


async def test_evaluate_voice(meters: Meters, shared: Path) -> None:
    engine = FakeEngine()
    reference = Audio(np.sin(np.arange(48_000) / 7).astype(np.float32) * 0.1, 24_000)
    profile = await engine.enroll(Reference(reference.samples, reference.sample_rate))
    result = await evaluate_voice(engine, profile, reference, meters, TEST_SENTENCES[:2])
    assert -1 <= result.similarity <= 1
    assert result.wer >= 0 and result.rtf >= 0
    assert len(result.rendering.sentences) == 2
