"""Cutting a reply into what to speak while it is still being written."""

from __future__ import annotations

from voxhub.chats.voice import SentenceCutter


def cut(text: str, step: int) -> list[str]:
    """Feed `text` `step` characters at a time, as a model's pieces arrive."""
    cutter, out = SentenceCutter(), []
    for start in range(0, len(text), step):
        out += cutter.feed(text[start : start + step])
    return out + cutter.rest()


def test_sentences_come_out_once_finished_whatever_the_pieces() -> None:
    text = "The lamp is lit. The sea is calm, mostly. Dr. Smith says 3.5 knots! Sleep well"
    want = [
        "The lamp is lit.",
        "The sea is calm, mostly.",
        "Dr. Smith says 3.5 knots!",
        "Sleep well",
    ]
    for step in (1, 3, 7, len(text)):
        assert cut(text, step) == want, step


def test_a_long_first_sentence_is_spoken_from_its_first_clause() -> None:
    text = "Well now, my dear keeper, the lamp that your father lit is burning bright. Rest."
    assert cut(text, 2) == [
        "Well now, my dear keeper,",  # the first comma after four words: spoken at once
        "the lamp that your father lit is burning bright.",
        "Rest.",
    ]


def test_a_short_opening_clause_waits_for_more_words() -> None:
    cutter = SentenceCutter()
    assert cutter.feed("Oh, ") == []  # one word: not worth a clip of its own
    assert cutter.feed("I see. ") == []  # the sentence may still grow until the next begins
    assert cutter.feed("Yes") == ["Oh, I see."]
