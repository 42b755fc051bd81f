"""/api/v1/consent/challenge: a phrase to read aloud when the instance asks for spoken consent."""

from __future__ import annotations

from fastapi import APIRouter, status

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.safety import challenges
from voxhub.safety.challenge_schemas import ChallengeRead
from voxhub.security.deps import limited

router = APIRouter(tags=["consent"])


@router.post(
    "/api/v1/consent/challenge",
    response_model=ChallengeRead,
    status_code=status.HTTP_201_CREATED,
    # Counted with cloning: each phrase is asked for in order to clone.
    dependencies=[limited("clone")],
)
async def issue_challenge(
    c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> ChallengeRead:
    """A new consent phrase for you: an everyday sentence, a statement naming this instance
    and a 4-digit code. Record yourself reading all of it and send the recording and
    `phrase_id` with the voice upload. Valid 10 minutes, for one voice, and only for you."""
    return await challenges.issue(c, session, p)
