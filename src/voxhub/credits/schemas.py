"""Credit views and requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from voxhub.core.json_numbers import whole
from voxhub.synthesis.schemas import SPEAKABLE, DictionaryIds, DictionaryVersions

Count = Annotated[int, Field(ge=0, le=1000), BeforeValidator(whole)]
# Not 0 (a grant of nothing is a mistake); said in the schema, so clients know it too.
Amount = Annotated[
    int,
    Field(ge=-1_000_000, le=1_000_000, json_schema_extra={"not": {"const": 0}}),
    BeforeValidator(whole),
]


class EntryRead(BaseModel):
    """One ledger entry: a signed change to the available balance and the balance after it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    amount: int
    balance_after: int
    job_id: str | None = Field(description="The job, or the generation or voice paid for")
    round: int
    reason: str
    created_at: datetime


class HoldRead(BaseModel):
    """Credits reserved for work that has not finished yet."""

    job_id: str | None
    amount: int
    reason: str
    created_at: datetime


class CreditsRead(BaseModel):
    balance: int = Field(description="Available credits (holds already taken out)")
    held: int = Field(description="Credits reserved for unfinished work")
    holds: list[HoldRead]
    recent: list[EntryRead]


class EntryPage(BaseModel):
    items: list[EntryRead]
    next_cursor: str | None


class SpeechEstimate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)

    voice_id: str = Field(max_length=64)
    text: str = Field(min_length=1, max_length=200_000, json_schema_extra=SPEAKABLE)
    language: str | None = Field(None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
    engine: str | None = Field(None, max_length=64)
    pronunciation_dictionary_ids: DictionaryIds = Field(default_factory=list)
    pronunciation_dictionary_versions: DictionaryVersions | None = None
    run_async: bool = Field(False, alias="async", description="Priced under the job text limit")


class EstimateRequest(BaseModel):
    """What a request would cost: any mix of operations (none costs 0)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    speech: SpeechEstimate | None = None
    clones: Count = Field(0, description="Voices created or references added")
    videos: Count = 0
    llm_calls: Count = 0


class EstimateItem(BaseModel):
    operation: str
    quantity: int
    unit: str
    cost: int


class Prices(BaseModel):
    speech_per_1k_chars: int
    clone: int
    video: int
    llm_call: int


class EstimateRead(BaseModel):
    total: int
    balance: int
    affordable: bool
    items: list[EstimateItem]
    prices: Prices


class GrantRequest(BaseModel):
    """Add credits to a user's balance, or (negative) take them back."""

    model_config = ConfigDict(extra="forbid", strict=True)

    user_id: str = Field(max_length=64)
    # Not 0 (a grant of nothing is a mistake); said in the schema, so clients know it too.
    amount: Amount
    reason: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _nonzero(self) -> GrantRequest:
        if self.amount == 0:
            raise ValueError("amount must not be 0")
        return self


class GrantRead(BaseModel):
    user_id: str
    balance: int
    entry: EntryRead
