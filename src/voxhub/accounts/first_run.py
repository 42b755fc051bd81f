"""First start with no users: make an admin and tell the person how to get in."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from voxhub.accounts import api_keys, service
from voxhub.accounts.models import Role, User
from voxhub.container import Container

ADMIN_EMAIL = "admin@voxhub.internal"  # a name email validation accepts (not "localhost")


@dataclass(frozen=True)
class FirstRunCredentials:
    email: str
    password: str
    api_key: str
    login_token: str


def announcement(creds: FirstRunCredentials, url: str) -> list[str]:
    """What the person starting voxhub reads, once, on the terminal (never through logging).

    The login link keeps its secret in the fragment, which no browser sends: the page it opens
    POSTs it, so it reaches no access log, proxy log or Referer.
    """
    link = creds.login_token
    return [
        "first start: an admin account was created (shown once, keep it safe)",
        f"  sign in:  {url}/#login-token={link}  (once, 15 min)",
        f"        or: curl -X POST {url}/api/v1/auth/login-link"
        f" -H 'content-type: application/json' -d '{{\"token\":\"{link}\"}}'",
        f"  login:    {creds.email} / {creds.password}",
        f"  API key:  {creds.api_key}",
        f"  try:      curl -H 'Authorization: Bearer {creds.api_key}' {url}/api/v1/me",
    ]


async def ensure_first_admin(c: Container) -> FirstRunCredentials | None:
    """Create the first admin when there are no users; returns what to print, once.

    The admin, its API key and its login link are one commit: a start that fails half-way
    leaves no admin whose secrets nobody was shown.
    """
    async with c.sessions() as session:
        if await service.count_users(session):
            return None
        password = secrets.token_urlsafe(12)
        user = await service.add_user(
            session, ADMIN_EMAIL, password, "Admin", 10**6, role=Role.admin
        )
        _, key = await api_keys.add_key(session, user.id, "first run")
        link = service.add_login_link(session, c.tokens, user)
        await session.commit()
    return FirstRunCredentials(ADMIN_EMAIL, password, key, link)


async def local_admin_id(c: Container) -> str | None:
    """The oldest admin: who anonymous callers act as when VOXHUB_AUTH=off, and who the CLI is."""
    async with c.sessions() as session:
        return await session.scalar(
            select(User.id).where(User.role == Role.admin).order_by(User.created_at).limit(1)
        )
