"""Pronunciation dictionary views and rules, in ElevenLabs' rule shape (`string_to_replace`,
`type` alias or phoneme), so rules move between the two APIs unchanged."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from voxhub.pronunciation.alphabets import ARPABET_PATTERN, IPA_PATTERN, to_ipa
from voxhub.text.phrases import WORD, phrase_key

# A rule matches one to five whole words (see voxhub.text.phrases).
LONGEST_PHRASE = 5
MAX_RULES = 1000
MAX_DICTIONARIES_PER_REQUEST = 3


# 1 to 5 whole words (letters or digits, with inner apostrophes, periods or hyphens) between
# white space: what `voxhub.text.phrases` can find in a text.
_WORD = WORD.pattern
PHRASE_PATTERN = rf"^\s*{_WORD}(?:\s+{_WORD}){{0,{LONGEST_PHRASE - 1}}}\s*$"
# An alias has something to say (a letter or digit) and no angle brackets, so it cannot write
# a break tag into the text after the text's tags were read.
ALIAS_PATTERN = r"^[^<>]*[^\W_][^<>]*$"
# Patterns are matched by Python's `re` here, as the published schema's readers (hypothesis,
# schemathesis) match them: the same answer on both sides for every string.
# Strict as every voxhub body: 0 is not false.
_STRICT = ConfigDict(extra="forbid", strict=True, regex_engine="python-re")

Phrase = Annotated[
    str,
    Field(min_length=1, max_length=100, pattern=PHRASE_PATTERN),
    AfterValidator(phrase_key),
]


class AliasRule(BaseModel):
    """Say `alias` wherever `string_to_replace` is written (every engine honours it)."""

    model_config = _STRICT

    type: Literal["alias"]
    string_to_replace: Phrase
    alias: str = Field(min_length=1, max_length=200, pattern=ALIAS_PATTERN)
    case_sensitive: bool = True


class PhonemeRule(BaseModel):
    """Say these phonemes for `string_to_replace` (engines that take phonemes; others refuse)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        regex_engine="python-re",
        # Which strings are phonemes depends on the alphabet: said in the schema too.
        json_schema_extra={
            "if": {"properties": {"alphabet": {"const": "cmu-arpabet"}}, "required": ["alphabet"]},
            "then": {"properties": {"phoneme": {"pattern": ARPABET_PATTERN}}},
            "else": {"properties": {"phoneme": {"pattern": IPA_PATTERN}}},
        },
    )

    type: Literal["phoneme"]
    string_to_replace: Phrase
    phoneme: str = Field(min_length=1, max_length=200)
    alphabet: Literal["ipa", "cmu-arpabet"] = "ipa"
    case_sensitive: bool = True

    @model_validator(mode="after")
    def _readable(self) -> PhonemeRule:
        to_ipa(self.phoneme, self.alphabet)  # ValueError: 422 saying what phonemes look like
        return self

    @property
    def ipa(self) -> str:
        return to_ipa(self.phoneme, self.alphabet)


Rule = Annotated[AliasRule | PhonemeRule, Field(discriminator="type")]
Rules = Annotated[list[Rule], Field(max_length=MAX_RULES)]


class DictionaryCreate(BaseModel):
    model_config = _STRICT

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    rules: Rules = Field(default_factory=list)


def _no_default(schema: dict[str, Any]) -> None:
    # Omitting a field keeps it; "default: null" would tell clients that null is allowed.
    schema.pop("default", None)


class DictionaryUpdate(BaseModel):
    """Omitted fields stay; null clears the description and is refused for the name."""

    model_config = _STRICT

    name: Annotated[str, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = Field(
        None, json_schema_extra=_no_default
    )
    description: str | None = Field(None, max_length=2000)

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value


class RulesAdd(BaseModel):
    """Rules to add; one with the same `string_to_replace` (and case rule) replaces the old."""

    model_config = _STRICT

    rules: Annotated[list[Rule], Field(min_length=1, max_length=MAX_RULES)]


class RulesRemove(BaseModel):
    model_config = _STRICT

    rule_strings: Annotated[list[Phrase], Field(min_length=1, max_length=MAX_RULES)]


class DictionaryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str
    version: int = Field(description="Bumped on every change to the rules")
    rules: list[Rule]
    created_at: datetime
    updated_at: datetime


class DictionaryPage(BaseModel):
    items: list[DictionaryRead]
