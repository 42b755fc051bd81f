"""split_sentences and split_clauses: pieces the engine can speak (and stream) one at a time."""

from __future__ import annotations

import pytest

from voxhub.text import split_clauses, split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
        ("Mr. Smith met Dr. Jones.", ["Mr. Smith met Dr. Jones."]),
        ("Fruit, e.g. apples. Next.", ["Fruit, e.g. apples.", "Next."]),
        ("The U.S.A. is big.", ["The U.S.A. is big."]),
        ("I live in the U.S.A. It is big.", ["I live in the U.S.A.", "It is big."]),
        ("Pi is 3.14 or so. Right?", ["Pi is 3.14 or so.", "Right?"]),
        ("J. K. Rowling wrote it.", ["J. K. Rowling wrote it."]),
        ("Wait... what? Fine… Go.", ["Wait... what?", "Fine…", "Go."]),
        ('He said "Stop." Then left.', ['He said "Stop."', "Then left."]),
        ("Line one\nLine two\n\nLine three", ["Line one", "Line two", "Line three"]),
        ("It costs approx. five dollars.", ["It costs approx. five dollars."]),
        ("Really?! Yes.", ["Really?!", "Yes."]),
        ("", []),
        ("   \n  ", []),
        ("no punctuation at all", ["no punctuation at all"]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_short_sentence_is_one_clause() -> None:
    assert split_clauses("Short one, really.", 100) == ["Short one, really."]
    assert split_clauses("   ", 10) == []


def test_split_clauses_prefers_punctuation_then_spaces() -> None:
    sentence = (
        "This sentence is long, with several clauses; some of them are long: and an em dash "
        "\u2014 in the middle, followed by many more words that go on without any punctuation "
        "for quite a while indeed"
    )
    pieces = split_clauses(sentence, 50)
    assert all(len(p) <= 50 for p in pieces), pieces
    assert " ".join(pieces).split() == sentence.split()  # nothing lost, nothing reordered
    # Clauses are merged up to the limit (tiny pieces sound choppy), cut after their mark.
    assert pieces[0] == "This sentence is long, with several clauses;"
    assert pieces[1] == "some of them are long: and an em dash \u2014"


def test_split_clauses_cuts_a_word_longer_than_the_limit() -> None:
    pieces = split_clauses("a " + "x" * 25 + " b", 10)
    assert all(len(p) <= 10 for p in pieces)
    assert "".join(pieces).replace(" ", "") == "a" + "x" * 25 + "b"
