"""Planning what the model says in one call, and tidying what comes back."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from voxhub.engines.base import WordTiming
from voxhub.engines.embedded.phonemes import count_phonemes
from voxhub.text import split_clauses, split_sentences, spoken_text

# About 200 characters stay well under the model's 510 tokens (English runs ~1 phoneme per
# character) while keeping whole clauses together for natural intonation.
MAX_PIECE_CHARS = 200
# The first piece is kept short so the first audio leaves early when streaming: three to
# five words, computed in about 0.5 s on a 2-core machine (36 characters took about 0.85 s);
# the rest of that sentence computes meanwhile and follows at once.
FIRST_PIECE_CHARS = 24
SPLIT_FIRST_ABOVE = 40
SENTENCE_PAUSE = 0.22  # seconds of silence after a sentence
CLAUSE_PAUSE = 0.08  # after a clause cut out of a longer sentence (the comma is spoken too)
_EDGE_THRESHOLD = 0.01
_EDGE_PAD = 0.04  # keep a little of the onset and release around the loud part
_FADE = 0.005
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Piece:
    """One model call's worth of text and the pause that follows it."""

    text: str
    pause: float


def plan(text: str, language: str) -> list[Piece]:
    """Normalise, expand (English), and cut text into sentence and clause pieces.

    Blocking (linear in the text's length): the engine calls it in a thread.
    """
    text = spoken_text(text, language)
    pieces: list[Piece] = []
    for n, sentence in enumerate(split_sentences(text)):
        head, rest = _lead(sentence) if n == 0 else ("", sentence)
        if head:
            pieces.append(Piece(head, CLAUSE_PAUSE if head[-1] in ",;:" else 0.0))
        clauses = split_clauses(rest, MAX_PIECE_CHARS)
        for i, clause in enumerate(clauses):
            last = i == len(clauses) - 1
            pieces.append(Piece(clause, SENTENCE_PAUSE if last else CLAUSE_PAUSE))
    if pieces:  # nothing follows the last piece
        pieces[-1] = Piece(pieces[-1].text, 0.0)
    return pieces


def _lead(sentence: str) -> tuple[str, str]:
    """A long first sentence as (short head, rest), cut at a clause or a word boundary."""
    if len(sentence) <= SPLIT_FIRST_ABOVE:
        return "", sentence
    head = split_clauses(sentence, FIRST_PIECE_CHARS)[0]
    if not sentence.startswith(head):  # clause splitting re-spaced it: keep the sentence whole
        return "", sentence
    return head, sentence[len(head) :].strip()


def trim_silence(audio: np.ndarray, rate: int) -> np.ndarray:
    """Cut the model's leading and trailing near-silence, keeping a short pad and a fade."""
    loud = np.flatnonzero(np.abs(audio) > _EDGE_THRESHOLD)
    if loud.size == 0:
        return audio
    pad = int(_EDGE_PAD * rate)
    out = np.array(audio[max(0, loud[0] - pad) : loud[-1] + pad + 1], dtype=np.float32)
    fade = min(int(_FADE * rate), len(out) // 2)
    if fade:  # a cut mid-waveform would click
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        out[:fade] *= ramp
        out[-fade:] *= ramp[::-1]
    return out


def with_pause(audio: np.ndarray, pause: float, rate: int) -> np.ndarray:
    """The audio followed by `pause` seconds of silence."""
    if pause <= 0:
        return audio
    return np.concatenate([audio, np.zeros(int(pause * rate), dtype=np.float32)])


def word_timings(text: str, speech_seconds: float, language: str) -> list[WordTiming]:
    """Estimated word times: the speech is shared out in proportion to each word's phonemes.

    This is an estimate, not an alignment: the model reports no durations through this ONNX
    export, and phoneme counts track spoken length well enough for captions and highlighting.
    """
    words = _WORD.findall(text)
    if not words or speech_seconds <= 0:
        return []
    counts = [max(1, count_phonemes(word, language)) for word in words]
    total = float(sum(counts))
    timings: list[WordTiming] = []
    start = 0.0
    for word, count in zip(words, counts, strict=True):
        end = start + speech_seconds * count / total
        timings.append(WordTiming(word=word, start=start, end=min(end, speech_seconds)))
        start = end
    return timings
