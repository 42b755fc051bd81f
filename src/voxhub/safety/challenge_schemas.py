"""What a consent challenge looks like to the client."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class ChallengeRead(BaseModel):
    """A phrase to read aloud, as one recording, to consent to one clone of your voice."""

    phrase_id: str = Field(description="Send it with the voice upload, beside the recording")
    text: str = Field(description="Read all of it: the sentence, the statement and the code")
    code: str = Field(pattern=r"^[0-9]{4}$", description="The 4-digit code inside `text`")
    expires_at: datetime = Field(description="After this the phrase is refused (409)")


class ConsentPolicyRead(BaseModel):
    """What this instance asks of a new voice, so that a client knows which fields to send."""

    policy: Literal["attestation", "spoken", "off"] = Field(
        description="`attestation`: send `consent`; `spoken`: also `consent_phrase_id` and"
        " `consent_audio` (the speaker reading a phrase of POST /api/v1/consent/challenge);"
        " `off`: nothing is asked"
    )
    instance_name: str = Field(description="How this instance names itself in the phrase")
    retention_days: int = Field(
        description="How long a consent record is kept, even after its voice is deleted"
    )
