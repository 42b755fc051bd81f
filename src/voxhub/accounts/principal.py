"""Who is calling: resolved once per request, passed to services instead of a bare user id."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, true
from sqlalchemy.orm import QueryableAttribute

from voxhub.accounts.models import Role


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: Role
    via: str  # "jwt", "api_key", "oidc" or "local" (VOXHUB_AUTH=off, CLI)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    def may_change(self, owner_id: str | None) -> bool:
        """Owners change their objects; admins change anything."""
        return self.is_admin or owner_id == self.user_id


def readable(
    p: Principal,
    owner_col: QueryableAttribute[str | None],
    visibility_col: QueryableAttribute[str] | None = None,
) -> ColumnElement[bool]:
    """Rows `p` may read: their own, public ones (if the table has visibility), all for admins."""
    if p.is_admin:
        return true()
    own = owner_col == p.user_id
    if visibility_col is None:
        return own
    return or_(own, visibility_col == "public")
