"""The "more" and "pool" tables: build each speaker's enrolment and targets, clone, score.

Scores are normalised per target as in the ten-speaker table (`speakers.Baseline`): 0 = what a
same-gender stranger's recording scores against the target, 1 = what the speaker's own
enrolment recording scores. Strangers come from speech-pool/ (thirty of each gender, whole
utterances, the speaker itself left out), so every table measures against the same crowd.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxhub.audio.decode import decode
from voxhub.audio.encode import encode
from voxhub.audio.speaker import SpeakerEncoder, cosine
from voxhub.core.errors import NotEnoughSpeech
from voxhub.engines.base import Engine, Reference, RefiningEngine
from voxhub.evaluation.harness import Prepared, prepare_upload
from voxhub.evaluation.protocols import more_pairing, pool_halves
from voxhub.evaluation.speakers import Baseline, Speaker
from voxhub.evaluation.split import Part, part_of
from voxhub.evaluation.voice import Meters, Rendering, render, speak
from voxhub.settings import LimitSettings

# Targets are compared, not enrolled: the shortest speech-more recordings (2.5 s) hold less
# speech than an upload must, yet are the speaker's voice all the same.
TARGET_MIN_SPEECH_S = 1.0


@dataclass(frozen=True)
class Target:
    """A recording (or part) the clone is compared with, and its same/stranger baseline."""

    name: str
    embedding: np.ndarray
    baseline: Baseline


@dataclass(frozen=True)
class Case:
    """One speaker of a table, ready to clone."""

    speaker: Speaker
    part: Part
    enrolment_name: str
    enrolment: Prepared
    targets: tuple[Target, ...]
    cut: str = ""  # the pool's: where the utterance was cut ("pause" or the fallback)


@dataclass(frozen=True)
class TableConfig:
    """Where the data is and how to run; `sentences` and `refine` as for the ten."""

    shared_data: Path
    limits: LimitSettings
    working_rate: int
    sentences: tuple[str, ...]
    refine: bool


class Strangers:
    """speech-pool/'s whole utterances, embedded as uploads, by gender."""

    def __init__(self, embeddings: dict[str, tuple[str, np.ndarray]]) -> None:
        self._by_speaker = embeddings  # speaker id -> (gender, embedding)

    def mean_cosine(self, embedding: np.ndarray, gender: str, besides: str) -> float:
        """Mean cosine of `embedding` with every same-gender pool speaker but `besides`."""
        scores = [
            cosine(embedding, e)
            for sid, (g, e) in self._by_speaker.items()
            if g == gender and sid != besides
        ]
        return float(np.mean(scores)) if scores else 0.0


def embed_strangers(
    pool: Sequence[Speaker], folder: Path, cfg: TableConfig, enc: SpeakerEncoder
) -> Strangers:
    """Blocking: every pool speaker's utterance prepared and embedded once."""
    out: dict[str, tuple[str, np.ndarray]] = {}
    for spk in pool:
        data = (folder / spk.recordings[0].file).read_bytes()
        out[spk.id] = (
            spk.gender,
            prepare_upload(data, cfg.limits, cfg.working_rate, enc).embedding,
        )
    return Strangers(out)


def _target(
    name: str,
    data: bytes,
    enrolment: Prepared,
    spk: Speaker,
    strangers: Strangers,
    cfg: TableConfig,
    enc: SpeakerEncoder,
) -> Target | None:
    limits = cfg.limits.model_copy(update={"min_speech_seconds": TARGET_MIN_SPEECH_S})
    try:
        embedding = prepare_upload(data, limits, cfg.working_rate, enc).embedding
    except NotEnoughSpeech:
        return None
    same = cosine(enrolment.embedding, embedding)
    stranger = strangers.mean_cosine(embedding, spk.gender, besides=spk.id)
    return Target(name, embedding, Baseline(same=same, stranger=stranger))


def more_case(spk: Speaker, strangers: Strangers, cfg: TableConfig, enc: SpeakerEncoder) -> Case:
    """Blocking: enrol on the longest speech-more recording, every other one a target."""
    folder = cfg.shared_data / "speech-more"
    pairing = more_pairing(spk)
    enrolment = prepare_upload(
        (folder / pairing.enrolment.file).read_bytes(), cfg.limits, cfg.working_rate, enc
    )
    targets = [
        _target(rec.file, (folder / rec.file).read_bytes(), enrolment, spk, strangers, cfg, enc)
        for rec in pairing.targets
    ]
    kept = tuple(t for t in targets if t is not None)
    return Case(spk, part_of("more", spk.id), pairing.enrolment.file, enrolment, kept)


def pool_case(
    spk: Speaker, strangers: Strangers, cfg: TableConfig, enc: SpeakerEncoder
) -> Case | None:
    """Blocking: the utterance cut in two, each part an upload; None when it does not split."""
    rec = spk.recordings[0]
    whole = decode(
        (cfg.shared_data / "speech-pool" / rec.file).read_bytes(), cfg.limits, cfg.working_rate
    )
    halves = pool_halves(whole.samples, whole.sample_rate)
    if halves is None:
        return None
    first, second = (
        encode(part, whole.sample_rate, "wav") for part in (halves.first, halves.second)
    )
    try:
        enrolment = prepare_upload(first, cfg.limits, cfg.working_rate, enc)
    except NotEnoughSpeech:
        return None
    target = _target(f"{rec.file}#2", second, enrolment, spk, strangers, cfg, enc)
    if target is None:
        return None
    cut = "pause" if halves.at_vad_pause else "quietest frame near half"
    return Case(spk, part_of("pool", spk.id), f"{rec.file}#1", enrolment, (target,), cut)


def _scored(rendering: Rendering, case: Case, **more: Any) -> dict[str, Any]:
    per_target = []
    for t in case.targets:
        sim = cosine(rendering.embedding, t.embedding)
        per_target.append(
            {
                "file": t.name,
                "similarity": round(sim, 4),
                "normalised": round(t.baseline.normalise(sim), 4),
            }
        )
    return rendering.as_dict(
        similarity=float(np.mean([p["similarity"] for p in per_target])),
        normalised=round(float(np.mean([p["normalised"] for p in per_target])), 4),
        per_target=per_target,
        **more,
    )


async def evaluate_case(
    engine: Engine, meters: Meters, case: Case, cfg: TableConfig
) -> dict[str, Any]:
    """Clone from the enrolment, speak the sentences, score against every target."""
    ref = case.enrolment
    reference = Reference(ref.audio.samples, ref.audio.sample_rate, ref.embedding, ref.seed)
    profiles: dict[str, dict[str, Any]] = {}
    instant = await engine.enroll(reference)
    profiles["instant"] = _scored(await render(engine, instant, meters, cfg.sentences), case)
    if cfg.refine and isinstance(engine, RefiningEngine):
        refined = await engine.refine(reference, instant, lambda _f, _m: None)
        profiles["refined"] = _scored(await render(engine, refined, meters, cfg.sentences), case)
    return {
        "speaker": case.speaker.id,
        "gender": case.speaker.gender,
        "part": case.part,
        "enrolment": case.enrolment_name,
        **({"cut": case.cut} if case.cut else {}),
        "reference_s": round(ref.audio.duration, 3),
        "targets": [
            {
                "file": t.name,
                "same": round(t.baseline.same, 4),
                "stranger": round(t.baseline.stranger, 4),
            }
            for t in case.targets
        ],
        "same": round(float(np.mean([t.baseline.same for t in case.targets])), 4),
        "stranger": round(float(np.mean([t.baseline.stranger for t in case.targets])), 4),
        "profiles": profiles,
    }


async def run_table(
    engine: Engine,
    meters: Meters,
    cases: Sequence[Case],
    cfg: TableConfig,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Every case of one table, in order; warms the engine first so no case pays for it."""
    if not cases:
        return []
    first = cases[0].enrolment
    warm = await engine.enroll(Reference(first.audio.samples, first.audio.sample_rate))
    await speak(engine, "Warming up.", warm)
    rows = []
    for i, case in enumerate(cases, 1):
        spk = case.speaker
        log(f"[{i}/{len(cases)}] {spk.id} ({spk.gender}, {case.part}, {len(case.targets)} targets)")
        rows.append(await evaluate_case(engine, meters, case, cfg))
    return rows


async def build_cases(
    table: str,
    speakers: Sequence[Speaker],
    strangers: Strangers,
    cfg: TableConfig,
    enc: SpeakerEncoder,
) -> list[Case]:
    """The table's cases (off the event loop); a pool speaker that does not split is left out."""
    build = more_case if table == "more" else pool_case
    cases = [await asyncio.to_thread(build, spk, strangers, cfg, enc) for spk in speakers]
    return [c for c in cases if c is not None and c.targets]
