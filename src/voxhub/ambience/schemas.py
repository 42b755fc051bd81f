"""Ambience as the API speaks it: the library listing and the mix settings, with their ranges."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from voxhub.ambience.beds import LIBRARY
from voxhub.ambience.mixer import MixSettings

_DEFAULTS = MixSettings()


class MixOptions(BaseModel):
    """How a bed sits under the speech. Ranges keep every mix audible and sane."""

    model_config = ConfigDict(extra="forbid")

    bed_gain_db: float = Field(
        _DEFAULTS.bed_gain_db,
        ge=-60.0,
        le=0.0,
        description="The bed's level relative to the speech (its RMS while speaking), dB",
    )
    duck_db: float = Field(
        _DEFAULTS.duck_db, ge=0.0, le=40.0, description="How far the bed drops under speech, dB"
    )
    attack_ms: float = Field(_DEFAULTS.attack_ms, ge=1.0, le=2000.0)
    release_ms: float = Field(_DEFAULTS.release_ms, ge=10.0, le=5000.0)
    fade_in_s: float = Field(_DEFAULTS.fade_in_s, ge=0.0, le=30.0)
    fade_out_s: float = Field(_DEFAULTS.fade_out_s, ge=0.0, le=30.0)

    def settings(self) -> MixSettings:
        return MixSettings(
            bed_gain_db=self.bed_gain_db,
            duck_db=self.duck_db,
            attack_ms=self.attack_ms,
            release_ms=self.release_ms,
            fade_in_s=self.fade_in_s,
            fade_out_s=self.fade_out_s,
        )


class Ambience(MixOptions):
    """A library bed under generated speech (the `ambience` field of a speech request)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    bed: str = Field(max_length=64, json_schema_extra={"enum": list(LIBRARY)})
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Picks one variation of the bed")

    @field_validator("bed")
    @classmethod
    def _known(cls, bed: str) -> str:
        if bed not in LIBRARY:  # a ValueError: reported as this field's validation error
            raise ValueError(f"unknown bed; choose one of {list(LIBRARY)}")
        return bed


class BedRead(BaseModel):
    name: str
    description: str


class BedList(BaseModel):
    items: list[BedRead]
