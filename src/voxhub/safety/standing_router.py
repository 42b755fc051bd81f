"""/api/v1/consent/standing: the standing attestation that covers uploads through the faces
that have no consent field (the seeds', ElevenLabs').

An account records it signed in. The HMAC-signed internal service records its own with a signed
call to the same endpoint: with `SECURITY_ENABLE_HMAC` on, a request that carries
`X-Daezend-Signature` is verified like any internal call (a bad one is 401), and it attests for
the service as a whole, which covers every clone the service makes, whichever user it acts for.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from voxhub.accounts.deps import MaybePrincipal
from voxhub.accounts.models import Role
from voxhub.accounts.principal import Principal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.core.errors import Unauthenticated
from voxhub.safety import consent_standing as standing
from voxhub.safety.consent_models import StandingConsent
from voxhub.security.hmac import SIGNATURE, HmacRoute


class MaybeSignedRoute(HmacRoute):
    """An HMAC-signed route for a request that carries a signature, an ordinary one otherwise."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        signed = super().get_route_handler()
        plain = APIRoute.get_route_handler(self)

        async def handler(request: Request) -> Response:
            return await (signed if SIGNATURE in request.headers else plain)(request)

        return handler


async def standing_caller(request: Request, c: ContainerDep, caller: MaybePrincipal) -> Principal:
    """The account calling, or the internal service when the call's signature was verified."""
    if getattr(request.state, "hmac_verified", False):
        # The service attests for itself; the local admin is who it acts as when unnamed.
        return Principal(str(c.extras.get("local_admin_id") or ""), Role.admin, "hmac")
    if caller is None:
        raise Unauthenticated("sign in, or send an API key (Authorization: Bearer or X-API-Key)")
    return caller


StandingCaller = Annotated[Principal, Depends(standing_caller)]
router = APIRouter(
    prefix=standing.STANDING_ENDPOINT, tags=["consent"], route_class=MaybeSignedRoute
)


class StandingConsentGive(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    consent: Literal["self", "written_permission"] = Field(
        description="`self`: you are the speaker of every voice you clone through these faces;"
        " `written_permission`: you hold each speaker's written permission"
    )


class StandingConsentRead(BaseModel):
    """The standing attestation in force for you (nothing in force: `in_force` false)."""

    in_force: bool
    consent: Literal["self", "written_permission"] | None
    id: str | None
    recorded_at: datetime | None
    principal_kind: str | None

    @classmethod
    def of(cls, row: StandingConsent | None) -> StandingConsentRead:
        if row is None or row.withdrawn:
            return cls(in_force=False, consent=None, id=None, recorded_at=None, principal_kind=None)
        return cls(
            in_force=True,
            consent=row.attestation,
            id=row.id,
            recorded_at=row.created_at,
            principal_kind=row.principal_kind,
        )


@router.get("", response_model=StandingConsentRead)
async def read_standing(session: SessionDep, p: StandingCaller) -> StandingConsentRead:
    """Your standing attestation, if one is in force."""
    return StandingConsentRead.of(await standing.in_force(session, standing.holder_of(p)))


@router.post("", response_model=StandingConsentRead, status_code=status.HTTP_201_CREATED)
async def give_standing(
    body: StandingConsentGive, c: ContainerDep, session: SessionDep, p: StandingCaller
) -> StandingConsentRead:
    """Attest once for every voice you clone through the seeds' and ElevenLabs' endpoints, which
    have no consent field (the main API asks with each upload). Stored, unchangeable, with your
    account, IP address and the time; a new one replaces the one in force."""
    row = await standing.give(session, c.settings.consent, p, body.consent)
    return StandingConsentRead.of(row)


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        404: {
            "description": "No standing attestation of yours is in force"
            " (`standing_consent_not_found`)"
        }
    },
)
async def withdraw_standing(c: ContainerDep, session: SessionDep, p: StandingCaller) -> Response:
    """Withdraw your standing attestation: later uploads through those endpoints are refused
    (403 `consent_required`); voices already cloned keep the consent they were made under.
    With none in force (never given, or withdrawn already) it is 404
    `standing_consent_not_found`, and nothing is recorded."""
    await standing.withdraw(session, c.settings.consent, p)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
