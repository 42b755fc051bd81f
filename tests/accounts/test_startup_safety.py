"""voxhub refuses insecure set-ups at start-up, and keeps password hashes current."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from pydantic import SecretStr

from voxhub.accounts import passwords
from voxhub.accounts.secrets import InsecureConfiguration, signing_key
from voxhub.app import check_bind
from voxhub.core.addresses import is_loopback
from voxhub.core.errors import InvalidInput
from voxhub.settings import Settings


def test_production_needs_a_real_secret(tmp_path: Path) -> None:
    with pytest.raises(InsecureConfiguration):
        signing_key(Settings(env="prod", home=tmp_path))
    short = Settings(env="prod", home=tmp_path)
    short.security.jwt_secret = SecretStr("too short")
    with pytest.raises(InsecureConfiguration):
        signing_key(short)
    good = Settings(env="prod", home=tmp_path)
    good.security.jwt_secret = SecretStr("k" * 32)
    assert signing_key(good) == b"k" * 32


def test_dev_key_is_random_private_and_stable(tmp_path: Path) -> None:
    first = signing_key(Settings(env="dev", home=tmp_path))
    assert len(first) >= 32 and signing_key(Settings(env="dev", home=tmp_path)) == first
    assert (tmp_path / "jwt.key").stat().st_mode & 0o077 == 0
    assert signing_key(Settings(env="dev", home=tmp_path / "other")) != first


def test_auth_off_only_on_loopback() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        settings = Settings(host=host)
        settings.security.auth = "off"
        check_bind(settings)
        assert is_loopback(host)
    wide = Settings(host="0.0.0.0")
    wide.security.auth = "off"
    with pytest.raises(InsecureConfiguration):
        check_bind(wide)
    wide.security.auth = "on"
    check_bind(wide)


def test_passwords_hash_verify_rehash_and_refuse_huge() -> None:
    h = passwords.hash_password("a fine password")
    assert h.startswith("$argon2id$")
    assert passwords.verify_password(h, "a fine password")
    assert not passwords.verify_password(h, "another password")
    assert not passwords.verify_password(None, "a fine password")
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024).hash("a fine password")
    assert passwords.needs_rehash(weak) and not passwords.needs_rehash(h)
    with pytest.raises(InvalidInput):
        passwords.hash_password("x" * 1025)
    assert not passwords.verify_password(h, "x" * 1025)
