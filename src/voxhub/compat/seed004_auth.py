"""Client-callable seed 004 routes: a signed-in caller, plus Firebase Auth and App Check flags."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.accounts.oidc import OidcVerifier
from voxhub.accounts.principal import Principal
from voxhub.api.deps import ContainerDep
from voxhub.container import Container
from voxhub.core.errors import InvalidTokenError, Unauthenticated


class AppCheckRequired(Unauthenticated):
    code = "app_check_required"
    title = "App Check token required"


class FirebaseAuthRequired(Unauthenticated):
    code = "firebase_auth_required"
    title = "Firebase ID token required"


def _app_check_verifier(c: Container) -> OidcVerifier | None:
    sec = c.settings.security
    if not (sec.app_check_jwks_url and sec.app_check_issuer and sec.app_check_audience):
        return None
    config = (sec.app_check_jwks_url, sec.app_check_issuer, sec.app_check_audience)
    cached = c.extras.get("app_check")
    # One verifier per configuration: it caches the JWKS keys between requests.
    if isinstance(cached, OidcVerifier) and (cached.jwks_url, cached.issuer, cached.audience) == (
        config
    ):
        return cached
    c.extras["app_check"] = verifier = OidcVerifier(*config)
    return verifier


async def app_check(request: Request, c: ContainerDep) -> None:
    """With App Check on, `X-Firebase-AppCheck` must be a valid token for this app."""
    if not c.settings.security.enable_app_check:
        return
    token = request.headers.get("x-firebase-appcheck", "").strip()
    if not token:
        raise AppCheckRequired("send an App Check token in X-Firebase-AppCheck")
    verifier = _app_check_verifier(c)
    if verifier is None:  # fail closed: the flag is on but nothing can verify tokens
        raise AppCheckRequired("App Check is on but VOXHUB_APP_CHECK_* is not configured")
    try:
        await verifier.verify(token)
    except InvalidTokenError as exc:
        raise AppCheckRequired("App Check token is not valid") from exc


async def client_principal(
    c: ContainerDep, _: Annotated[None, Depends(app_check)], p: CurrentPrincipal
) -> Principal:
    """The signed-in caller; with Firebase Auth on, signed in with an external identity token."""
    if c.settings.security.enable_firebase_auth and p.via != "oidc":
        raise FirebaseAuthRequired("send a Firebase ID token: Authorization: Bearer <token>")
    return p


ClientPrincipal = Annotated[Principal, Depends(client_principal)]
