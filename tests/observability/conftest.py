"""The API fixtures (a real container over SQLite and PostgreSQL, the fake engine)."""

from tests.api.conftest import (  # noqa: F401  (fixtures)
    anon,
    client,
    container,
    fake_engine,
    user_a,
)
