"""First start with no users: make an admin and tell the person how to get in."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from voxhub.accounts import api_keys, service
from voxhub.accounts.models import Role, User
from voxhub.accounts.principal import Principal
from voxhub.bootstrap import Container

ADMIN_EMAIL = "admin@voxhub.internal"  # a name email validation accepts (not "localhost")


@dataclass(frozen=True)
class FirstRunCredentials:
    email: str
    password: str
    api_key: str
    login_token: str


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server private to this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def ensure_first_admin(c: Container) -> FirstRunCredentials | None:
    """Create the first admin when there are no users; returns what to print, once."""
    async with c.sessions() as session:
        if await service.count_users(session):
            return None
        password = secrets.token_urlsafe(12)
        user = await service.signup(session, ADMIN_EMAIL, password, "Admin", 10**6, role=Role.admin)
        _, key = await api_keys.create_key(
            session, Principal(user.id, Role.admin, "local"), "first run"
        )
        link = await service.login_link_token(session, c.tokens, user)
    return FirstRunCredentials(ADMIN_EMAIL, password, key, link)


async def local_admin_id(c: Container) -> str | None:
    """The oldest admin: who anonymous callers act as when VOXHUB_AUTH=off, and who the CLI is."""
    async with c.sessions() as session:
        return await session.scalar(
            select(User.id).where(User.role == Role.admin).order_by(User.created_at).limit(1)
        )
