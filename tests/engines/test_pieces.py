"""Planning model calls: a short head for the first sentence, whole sentences after it."""

from __future__ import annotations

from voxhub.engines.embedded.pieces import (
    CLAUSE_PAUSE,
    FIRST_PIECE_CHARS,
    SENTENCE_PAUSE,
    SPLIT_FIRST_ABOVE,
    plan,
)


def test_a_long_first_sentence_starts_with_a_short_head() -> None:
    text = "Could you tell me where the nearest train station is? It is getting late tonight."
    pieces = plan(text, "en")
    head, rest, second = pieces
    assert len(head.text) <= FIRST_PIECE_CHARS and head.pause == 0.0
    assert f"{head.text} {rest.text}" == "Could you tell me where the nearest train station is?"
    assert rest.pause == SENTENCE_PAUSE
    assert second.text == "It is getting late tonight." and second.pause == 0.0


def test_the_head_ends_at_a_comma_when_there_is_one() -> None:
    pieces = plan("Well, the museum opened its doors to the public in the spring.", "en")
    assert pieces[0].text == "Well," and pieces[0].pause == CLAUSE_PAUSE


def test_a_short_first_sentence_is_spoken_whole() -> None:
    text = "Good morning to you."
    assert len(text) <= SPLIT_FIRST_ABOVE
    assert [p.text for p in plan(text, "en")] == [text]


def test_only_the_first_sentence_gets_a_head() -> None:
    long = "The children still spent every afternoon playing football in the park."
    pieces = plan(f"Hello there. {long}", "en")
    assert [p.text for p in pieces] == ["Hello there.", long]
