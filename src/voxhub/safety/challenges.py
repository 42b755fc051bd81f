"""Consent challenges: issue a phrase, and find the caller's phrase again to check a recording.

A phrase is an everyday sentence drawn at random, a statement naming this instance, and a
random 4-digit code, so no recording made before it was issued can say it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.audit import service as audit
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.safety.challenge_models import ConsentChallenge
from voxhub.safety.challenge_schemas import ChallengeRead
from voxhub.safety.errors import ConsentPhraseNotFound
from voxhub.safety.phrases import SENTENCES

# Long enough to find a quiet room and record once or twice; short enough that a phrase seen
# over someone's shoulder is soon worthless.
CHALLENGE_LIFETIME = timedelta(minutes=10)


def consent_statement(instance_name: str) -> str:
    return f"I give my consent to use my voice with {instance_name}."


def new_code() -> str:
    """Four digits, never starting with 0: "oh four..." would be read as a word, not a digit."""
    return str(1000 + secrets.randbelow(9000))


def phrase_text(sentence: str, instance_name: str, code: str) -> str:
    return f"{sentence} {consent_statement(instance_name)} My code is {code}."


async def issue(c: Container, session: AsyncSession, p: Principal) -> ChallengeRead:
    """A new phrase for `p`, valid for `CHALLENGE_LIFETIME`, audited."""
    code = new_code()
    sentence = SENTENCES[secrets.randbelow(len(SENTENCES))]
    now = utcnow()
    challenge = ConsentChallenge(
        user_id=p.user_id,
        text=phrase_text(sentence, c.settings.instance_name, code),
        code=code,
        created_at=now,
        expires_at=now + CHALLENGE_LIFETIME,
    )
    session.add(challenge)
    await session.flush()
    audit.record(
        session,
        "consent_challenge_issued",
        actor_id=p.user_id,
        target_type="consent_challenge",
        target_id=challenge.id,
    )
    await session.commit()
    return ChallengeRead(
        phrase_id=challenge.id,
        text=challenge.text,
        code=challenge.code,
        expires_at=challenge.expires_at,
    )


async def owned_challenge(session: AsyncSession, p: Principal, phrase_id: str) -> ConsentChallenge:
    """The caller's phrase; another user's reads as unknown (404), admins included: consent
    is the speaker's own act, nobody else's phrase can carry it."""
    row = await session.scalar(
        select(ConsentChallenge).where(
            ConsentChallenge.id == phrase_id, ConsentChallenge.user_id == p.user_id
        )
    )
    if row is None:
        raise ConsentPhraseNotFound("No such consent phrase", phrase_id=phrase_id)
    return row
