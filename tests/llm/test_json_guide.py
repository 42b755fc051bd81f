"""The JSON guide accepts exactly the prefixes of answers that match the schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from voxhub.llm.json_guide import JsonGuide, State
from voxhub.llm.schema import problems

PERSON: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "age": {"type": "integer"},
        "height": {"type": "number"},
        "mood": {"enum": ["happy", "sad"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
        "alive": {"type": "boolean"},
    },
    "required": ["name", "age", "mood"],
}


def feed(guide: JsonGuide, text: str) -> State | None:
    return guide.feed(guide.start, text.encode())


@pytest.mark.parametrize(
    "value",
    [
        {"name": "Ada", "age": 36, "mood": "happy"},
        {"mood": "sad", "age": -3, "name": 'Zoë "Z" \\', "tags": ["a", "b"], "alive": True},
        {"name": "", "age": 0, "mood": "sad", "height": 1.75e2, "alive": False},
    ],
)
@pytest.mark.parametrize("indent", [None, 2])
def test_every_matching_answer_is_accepted_and_done(
    value: dict[str, Any], indent: int | None
) -> None:
    assert problems(value, PERSON) == []
    guide = JsonGuide(PERSON)
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    state = feed(guide, text)
    assert state is not None, text
    assert guide.done(state)
    # And every prefix along the way is still open.
    for cut in range(len(text.encode())):
        part = guide.feed(guide.start, text.encode()[:cut])
        assert part is not None and not guide.done(part)


@pytest.mark.parametrize(
    "prefix",
    [
        "[",  # not an object
        '{"nickname"',  # not a property
        '{"name": "a", "name"',  # a key twice
        '{"name": "a"}',  # required keys missing
        '{"age": 1.5',  # integer
        '{"age": 01',  # no leading zeros
        '{"mood": "angry"',  # not in the enum
        '{"mood": "hap"}',  # a prefix of the enum is not a value
        '{"name": "abcdefghijklm',  # over maxLength
        '{"name": "line\nbreak"',  # raw control character in a string
        '{"tags": []',  # minItems 1
        '{"tags": ["a", "b", "c"',  # maxItems 2
        '{"alive": "yes"',  # boolean
        '{"name": "a", "age": 1, "mood": "sad"} x',  # nothing after the answer
        '{"name": "a"' + " " * 20,  # endless whitespace
        '{"name": "\\x"',  # bad escape
    ],
)
def test_what_cannot_match_is_refused(prefix: str) -> None:
    assert feed(JsonGuide(PERSON), prefix) is None


def test_unicode_escapes_and_multibyte_text() -> None:
    guide = JsonGuide({"type": "object", "properties": {"s": {"type": "string"}}})
    state = feed(guide, '{"s": "caf\\u00e9 ')
    assert state is not None
    state = guide.feed(state, "naïve 日本".encode()[:-1])  # a character cut between tokens
    assert state is not None
    state = guide.feed(state, "本".encode()[-1:] + b'"}')
    assert state is not None and guide.done(state)


def test_a_top_level_number_can_end_only_when_complete() -> None:
    guide = JsonGuide({"type": "number"})
    state = feed(guide, "-1.")
    assert state is not None and not guide.can_end(state)
    state = guide.feed(state, b"5e3")
    assert state is not None and guide.can_end(state)


def test_free_form_object_takes_any_key() -> None:
    guide = JsonGuide({"type": "object"})
    state = feed(guide, '{"anything": [1, {"deep": null}], "x": "y"}')
    assert state is not None and guide.done(state)


def test_a_string_at_its_limit_cannot_open_an_escape() -> None:
    guide = JsonGuide({"type": "string", "maxLength": 2})
    state = feed(guide, '"ab')
    assert state is not None
    assert guide.feed(state, b"\\") is None
    assert guide.feed(state, b'"') is not None


def test_a_string_under_its_minimum_cannot_close() -> None:
    guide = JsonGuide({"type": "string", "minLength": 1})
    state = feed(guide, '"')
    assert state is not None and guide.feed(state, b'"') is None  # "" is too short
    state = feed(guide, '"a')
    assert state is not None and guide.feed(state, b'"') is not None


def test_no_walk_reaches_a_dead_end() -> None:
    """Whatever the model picked so far, some single byte (every byte is a token in a byte-level
    vocabulary) continues the answer until it is done: decoding can never get stuck."""
    import random
    import string

    rng = random.Random(7)
    chars = b'{}[]",:-.eE+0123456789 \n\\' + string.ascii_lowercase.encode()
    alphabet = [bytes([b]) for b in chars] + [b"\xc3", b"\xa9"]
    for _ in range(25):
        guide = JsonGuide(PERSON)
        state = guide.start
        for _ in range(400):
            if guide.done(state):
                break
            options = [s for b in alphabet if (s := guide.feed(state, b)) is not None]
            assert options, f"dead end at {state}"
            state = rng.choice(options)
