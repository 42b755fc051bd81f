"""What a consent challenge looks like to the client."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ChallengeRead(BaseModel):
    """A phrase to read aloud, as one recording, to consent to one clone of your voice."""

    phrase_id: str = Field(description="Send it with the voice upload, beside the recording")
    text: str = Field(description="Read all of it: the sentence, the statement and the code")
    code: str = Field(pattern=r"^[0-9]{4}$", description="The 4-digit code inside `text`")
    expires_at: datetime = Field(description="After this the phrase is refused (409)")
