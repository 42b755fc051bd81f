"""/api/v1/consent: what this instance's consent policy asks of a new voice, and the phrase to
read aloud when it asks for spoken consent."""

from __future__ import annotations

from fastapi import APIRouter, status

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.safety import challenges
from voxhub.safety.challenge_schemas import ChallengeRead, ConsentPolicyRead
from voxhub.security.deps import limited

router = APIRouter(tags=["consent"])


@router.get("/api/v1/consent/policy", response_model=ConsentPolicyRead)
async def read_policy(c: ContainerDep, _: CurrentPrincipal) -> ConsentPolicyRead:
    """What a voice upload must carry here: `consent` (policy `attestation`), also a recording
    of the speaker reading a consent phrase (`spoken`), or nothing (`off`)."""
    consent = c.settings.consent  # read now: the policy is the instance's current one
    return ConsentPolicyRead(
        policy=consent.consent_policy,
        instance_name=c.settings.instance_name,
        retention_days=consent.consent_retention_days,
    )


@router.post(
    "/api/v1/consent/challenge",
    response_model=ChallengeRead,
    status_code=status.HTTP_201_CREATED,
    # The default limit, not cloning's (a few a minute): the web app asks a phrase each time
    # an upload form opens and again to renew one, and the upload itself is counted as a clone.
    dependencies=[limited("default")],
)
async def issue_challenge(
    c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> ChallengeRead:
    """A new consent phrase for you: an everyday sentence, a statement naming this instance
    and a 4-digit code. Record yourself reading all of it and send the recording and
    `phrase_id` with the voice upload. Valid 10 minutes, for one voice, and only for you."""
    return await challenges.issue(c, session, p)
