"""Long text is normalised and expanded in pieces, and the pieces change nothing in the result."""

from __future__ import annotations

import pytest

from voxhub.engines.embedded.pieces import plan
from voxhub.text import chunks, expand_english, normalize_text
from voxhub.text.chunks import nfkc_pieces, word_pieces

# Every kind of reading, with the neighbours that rules read across spaces: "5th of May",
# "Main St.", "etc. The", "$5 million", "10:05 pm", "Mr. Smith".
TEXT = (
    "Mr. Smith met Dr. Jones on the 5th of May at 10:05 pm, near Main St. in the U.S.A. "
    "It cost $5 million, approx. 3.14% of 1,234,567 dollars, etc. Then 20°C and 5 km/h. "
    "The 1990s and '80s were fun: e.g. 1/2 of 24/7 & 2+2=4 \u2014 pages 10-20, no. 5 is #1. "
    "“Quoted” text \u2018here\u2019 with fine ligatures and \ufdfa, pages 10\u201320 too. "
    "Call me@example.com or visit foo-bar.org today; St. Paul and Elm Dr. are on January 5. "
    "\u2474 and \u3392 then \u00bd of it, ~5 mph. Line\nbreaks\n\nand  spaces\tstay  tidy. "
)


def _results(text: str) -> tuple[str, str, list[tuple[str, float]]]:
    pieces = [(p.text, p.pause) for p in plan(text, "en")]
    return normalize_text(text), expand_english(normalize_text(text)), pieces


@pytest.mark.parametrize("piece", [1, 7, 64])
def test_cutting_the_text_into_pieces_changes_nothing(
    piece: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = TEXT * 3
    monkeypatch.setattr(chunks, "PIECE", 10**9)
    expected = _results(text)
    monkeypatch.setattr(chunks, "PIECE", piece)
    assert _results(text) == expected


def test_long_text_is_worked_in_bounded_pieces() -> None:
    text = TEXT * 400  # some 230,000 characters
    bound = chunks.PIECE + 100  # the text has a place to cut every few words
    assert max(len(p) for p in nfkc_pieces(text)) <= bound
    spoken = normalize_text(text)
    assert len(list(word_pieces(spoken))) > 10
    assert max(len(p) for p in word_pieces(spoken)) <= bound
    assert max(len(p) for p in nfkc_pieces("\ufdfa" * 100_000)) <= bound
