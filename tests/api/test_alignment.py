"""The character aligner on its own: a long text is matched a batch of words at a time, with
the same times as matching it whole, and every character of the text gets one."""

from __future__ import annotations

import random

import pytest

from voxhub.synthesis import alignment
from voxhub.synthesis.alignment import Aligner, Timed


def spoken(words: list[str], rewrite: float, seed: int) -> tuple[list[Timed], float]:
    """The words as an engine might time them, a share of them spoken as something else."""
    rng = random.Random(seed)
    out, t = [], 0.0
    for w in words:
        out.append(("rewritten" if rng.random() < rewrite else w, t, t + 0.2))
        t += 0.25
    return out, t


def aligned(text: str, words: list[Timed], duration: float) -> alignment.Chars:
    a = Aligner(text)
    chars = a.feed(words)
    chars.extend(a.finish(duration))
    return chars


def test_batches_time_the_characters_as_one_whole_match_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(3)
    vocab = ["harbour", "light", "the", "a", "storm", "keeper", "12", "Dr.", "of"]
    text = " ".join(rng.choice(vocab) for _ in range(1500))
    words, duration = spoken(text.split(), 0.05, 4)
    batched = aligned(text, words, duration)
    monkeypatch.setattr(alignment, "_BATCH", 10**9)
    whole = aligned(text, words, duration)
    assert batched.as_json() == whole.as_json()


def test_a_long_text_gets_every_character_in_order() -> None:
    rng = random.Random(5)
    text = " ".join(rng.choice(["river", "stone", "light", "of", "the"]) for _ in range(30_000))
    words, duration = spoken(text.split(), 0.02, 6)
    chars = aligned(text, words, duration)
    assert "".join(chars.characters) == text
    assert all(a <= b for a, b in zip(chars.starts, chars.starts[1:], strict=False))
    assert all(s <= e for s, e in zip(chars.starts, chars.ends, strict=True))
    assert chars.ends[-1] == pytest.approx(duration, abs=0.3)
