"""Word error rate maths and the text normalisation both sides go through."""

from __future__ import annotations

import pytest

from voxhub.evaluation.wer import (
    WordErrors,
    align,
    normalise_words,
    pooled_wer,
    wer,
    word_errors,
)


def test_identical_texts_have_no_errors() -> None:
    assert align(["a", "b", "c"], ["a", "b", "c"]) == WordErrors(0, 0, 0, 3)


def test_substitution() -> None:
    e = align(["the", "cat", "sat"], ["the", "hat", "sat"])
    assert (e.substitutions, e.deletions, e.insertions) == (1, 0, 0)
    assert e.wer == pytest.approx(1 / 3)


def test_deletion() -> None:
    e = align(["the", "cat", "sat", "down"], ["the", "sat", "down"])
    assert (e.substitutions, e.deletions, e.insertions) == (0, 1, 0)
    assert e.wer == pytest.approx(0.25)


def test_insertion() -> None:
    e = align(["the", "cat"], ["oh", "the", "big", "cat"])
    assert (e.substitutions, e.deletions, e.insertions) == (0, 0, 2)
    assert e.wer == pytest.approx(1.0)


def test_mixed_edits_count_the_minimum() -> None:
    # b->x (sub), d deleted, g inserted: 3 edits, where four substitutions would also align.
    e = align(list("abcdef"), list("axcefg"))
    assert (e.substitutions, e.deletions, e.insertions) == (1, 1, 1)


def test_wer_can_exceed_one_with_many_insertions() -> None:
    assert align(["yes"], ["no", "no", "no"]).wer == pytest.approx(3.0)


def test_empty_texts() -> None:
    assert align([], []).wer == 0.0
    assert align([], ["hello"]).wer == 1.0  # words said over silence: fully wrong, not infinite
    assert align(["hello", "there"], []).wer == 1.0
    assert wer("", "") == 0.0


def test_pooled_wer_weighs_by_reference_words() -> None:
    short = WordErrors(1, 0, 0, 2)  # 50 %
    long = WordErrors(0, 0, 0, 18)  # 0 %
    assert pooled_wer([short, long]) == pytest.approx(0.05)
    assert pooled_wer([]) == 0.0


def test_normalisation_drops_case_and_punctuation() -> None:
    assert normalise_words("Hello, World! Isn't it?") == ["hello", "world", "isnt", "it"]


def test_normalisation_spells_numbers_the_same_on_both_sides() -> None:
    assert normalise_words("It costs $45.") == ["it", "costs", "forty", "five", "dollars"]
    assert normalise_words("forty-five dollars") == ["forty", "five", "dollars"]
    assert wer("The museum opened in 1998.", "the museum opened in nineteen ninety-eight") == 0
    assert wer("350 visitors", "three hundred fifty visitors") == 0


def test_normalisation_of_titles_and_curly_apostrophes() -> None:
    assert wer("MISTER HALE said THERE'S iron", "Mr. Hale said there\u2019s iron.") == 0


def test_word_errors_on_sentences() -> None:
    e = word_errors("Could you tell me where the station is?", "could you tell me where station is")
    assert (e.deletions, e.reference_words) == (1, 8)
