"""Pronunciation rules, without a database: phrase matching, aliases, phonemes, alphabets."""

# IPA letters that look like ASCII ones are these tests' subject, not typos.
# ruff: noqa: RUF001

from __future__ import annotations

import time

import pytest
from pydantic import TypeAdapter, ValidationError

from voxhub.engines.embedded.phonemes import ipa_to_kokoro, phonemize
from voxhub.pronunciation.alphabets import arpabet_to_ipa
from voxhub.pronunciation.lexicon import Lexicon, pronounce
from voxhub.pronunciation.schemas import Rule

RULES: TypeAdapter[list[Rule]] = TypeAdapter(list[Rule])


def lexicon(*dictionaries: list[dict[str, object]]) -> Lexicon:
    return Lexicon.of([RULES.validate_python(rules) for rules in dictionaries])


def alias(phrase: str, said: str, **extra: object) -> dict[str, object]:
    return {"type": "alias", "string_to_replace": phrase, "alias": said, **extra}


def test_an_alias_replaces_whole_words_only() -> None:
    lex = lexicon([alias("SQL", "sequel")])
    said = pronounce(lex, "SQL, SQLite and MySQL: SQL.", "en")
    assert said.text == "sequel, SQLite and MySQL: sequel."


def test_a_curly_apostrophe_in_a_rule_matches_the_cleaned_text() -> None:
    lex = lexicon([alias("O\u2019Neill", "oh kneel")])
    assert pronounce(lex, "Ask O'Neill.", "en").text == "Ask oh kneel."


def test_case_rules() -> None:
    lex = lexicon([alias("Nike", "nai-kee"), alias("gif", "jif", case_sensitive=False)])
    assert pronounce(lex, "Nike nike GIF Gif", "en").text == "nai-kee nike jif jif"


def test_the_longest_phrase_wins_and_replacements_are_not_rematched() -> None:
    lex = lexicon(
        [alias("New York", "the big apple"), alias("New York City", "NYC"), alias("apple", "pear")]
    )
    said = pronounce(lex, "New York City and New  York and New, York", "en")
    assert said.text == "NYC and the big apple and New, York"


def test_the_first_dictionary_wins_a_shared_phrase() -> None:
    lex = lexicon([alias("tomato", "tomahto")], [alias("tomato", "tomayto")])
    assert pronounce(lex, "tomato", "en").text == "tomahto"


def test_a_phoneme_rule_keeps_the_word_and_hands_over_its_ipa() -> None:
    rule = {"type": "phoneme", "string_to_replace": "Nguyen", "phoneme": "ŋwiɛn"}
    said = pronounce(lexicon([rule]), "Mr Nguyen is here.", "en")
    assert said.text == "Mr Nguyen is here."
    assert said.phonemes == (("Nguyen", "ŋwiɛn"),)


def test_arpabet_becomes_ipa() -> None:
    assert arpabet_to_ipa("T AH0 M EY1 T OW2") == "təmˈeɪtˌoʊ"
    for bad in ("T QQ1", "t ah0", "T AH3", "TAH0"):
        with pytest.raises(ValueError, match="phoneme is CMU ARPAbet"):
            arpabet_to_ipa(bad)


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        (alias("two  words here and six more", "x"), "String should match pattern"),
        (alias("C++", "see plus plus"), "String should match pattern"),
        (alias("ok", "!!!"), "String should match pattern"),
        (
            {"type": "phoneme", "string_to_replace": "x", "phoneme": "d0g"},
            "phoneme is IPA: letters",
        ),
        ({"type": "phoneme", "string_to_replace": "x", "phoneme": "ˈ."}, "at least one sound"),
        (
            {
                "type": "phoneme",
                "string_to_replace": "x",
                "phoneme": "D OG",
                "alphabet": "cmu-arpabet",
            },
            "phoneme is CMU ARPAbet",
        ),
        ({"type": "respell", "string_to_replace": "x", "alias": "y"}, "does not match any"),
    ],
)
def test_bad_rules_are_refused_with_a_reason(rule: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        RULES.validate_python([rule])


def test_ipa_is_put_in_kokoros_spelling() -> None:
    # Diphthongs and affricates become Kokoro's one-letter symbols; stress moves to the vowel.
    assert ipa_to_kokoro("ˈdʒʌdʒ") == "ʤˈʌʤ"
    assert ipa_to_kokoro("təˈmeɪtoʊ") == "təmˈAtO"
    assert ipa_to_kokoro("t͡ʃɜrt͡ʃ") == "ʧɜɹʧ"


def test_the_phonemiser_says_lexicon_phrases_as_given() -> None:
    plain = phonemize("my cat sat", "en-us")
    assert "kˈæt" in plain
    assert phonemize("my cat sat", "en-us", {"cat": "ˈdɔɡ"}).split(" ")[1] == "dˈɔɡ"


def test_matching_stays_linear_with_many_rules() -> None:
    lex = lexicon([alias(f"word{n}", f"said{n}") for n in range(1000)])
    text = " ".join(f"word{n % 2000}" for n in range(20_000))
    started = time.perf_counter()
    said = pronounce(lex, text, "en")
    assert time.perf_counter() - started < 2.0
    assert said.text.split(" ")[:3] == ["said0", "said1", "said2"]
    assert said.text.split(" ")[1500] == "word1500"


def test_a_lexicon_crosses_the_relay_intact() -> None:
    from voxhub.engines.base import SynthesisParams, VoiceProfile
    from voxhub.engines.relay import wire

    params = SynthesisParams(speed=1.2, language="en-gb", lexicon=(("Nguyen", "ŋwiɛn"),))
    voice = VoiceProfile(engine="embedded", engine_version="v", data=b"x")
    header, _ = wire.unpack(wire.synthesize_request("embedded", "Hi.", voice, params))
    assert wire.params_of(header) == params


def test_the_first_dictionary_wins_whatever_the_case_rules() -> None:
    first = [alias("sql", "sequel", case_sensitive=False)]
    second = [alias("SQL", "ess queue ell")]
    assert pronounce(lexicon(first, second), "SQL", "en").text == "sequel"
    assert pronounce(lexicon(second, first), "SQL", "en").text == "ess queue ell"
    # Within one dictionary, the rule for the exact spelling wins.
    both = [alias("sql", "sequel", case_sensitive=False), alias("SQL", "ess queue ell")]
    assert pronounce(lexicon(both), "SQL sql", "en").text == "ess queue ell sequel"


def test_aliases_cannot_grow_a_text_without_bound() -> None:
    from voxhub.core.errors import TextTooLong

    lex = lexicon([alias("a", "1 " * 99 + "1")])
    with pytest.raises(TextTooLong, match="aliases make this text more than 9000"):
        pronounce(lex, "a " * 2000, "en", budget=9000)


def test_an_alias_may_not_write_a_break_tag() -> None:
    with pytest.raises(ValidationError, match="String should match pattern"):
        RULES.validate_python([alias("wait", 'wait <break time="5s"/>')])
