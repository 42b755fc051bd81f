"""First start with no users: an admin, a one-time login link and an API key, printed once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from voxhub.accounts import service
from voxhub.accounts.first_run import ensure_first_admin, local_admin_id
from voxhub.accounts.models import ApiKey, User
from voxhub.container import Container


async def test_first_run_admin_link_and_key(anon, container: Container) -> None:
    creds = await ensure_first_admin(container)
    assert creds is not None and creds.email == "admin@voxhub.internal"
    assert await ensure_first_admin(container) is None  # only when there are no users
    me = await anon.get("/api/v1/me", headers={"X-API-Key": creds.api_key})
    assert me.status_code == 200 and me.json()["role"] == "admin"
    assert me.json()["id"] == await local_admin_id(container)

    # A secret in a query string would reach access logs: a GET never signs anyone in.
    page = await anon.get(f"/api/v1/auth/login-link?token={creds.login_token}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "access_token" not in page.text.replace("body.access_token", "")
    link = {"token": creds.login_token}
    first = await anon.post("/api/v1/auth/login-link", json=link)
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    assert first.json()["user"]["email"] == "admin@voxhub.internal"
    again = await anon.post("/api/v1/auth/login-link", json=link)
    assert again.status_code == 401 and again.json()["code"] == "invalid_token"  # once only
    login = await anon.post(
        "/api/v1/auth/login", json={"email": creds.email, "password": creds.password}
    )
    assert login.status_code == 200


async def test_a_first_run_that_fails_half_way_leaves_no_admin(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_tokens(*args: object, **kwargs: object) -> None:
        raise RuntimeError("signing failed")

    monkeypatch.setattr(service, "issue", no_tokens)  # the login link is the last step
    with pytest.raises(RuntimeError):
        await ensure_first_admin(container)
    async with container.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 0
        assert await s.scalar(select(func.count()).select_from(ApiKey)) == 0
    monkeypatch.undo()
    assert await ensure_first_admin(container) is not None  # so the next start can try again


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(base: str, server: subprocess.Popen[bytes], out: Path) -> None:
    deadline = time.time() + 180
    while time.time() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError("server did not start:\n" + out.read_text()[-3000:])


def _field(lines: list[str], label: str) -> str:
    return next(line for line in lines if line.strip().startswith(label)).split(label, 1)[1]


def test_voxhub_serve_prints_first_start_secrets_and_logs_none(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "VOXHUB_HOME": str(tmp_path / "home"),
        "VOXHUB_PORT": str(port),
        "VOXHUB_ENGINES": '["fake"]',
        "VOXHUB_DEFAULT_ENGINE": "fake",
        "VOXHUB_LOG_LEVEL": "DEBUG",  # uvicorn's access log and everything else, at its loudest
    }
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with out.open("wb") as o, err.open("wb") as e:
        server = subprocess.Popen(
            [sys.executable, "-m", "voxhub.cli", "serve"], env=env, stdout=o, stderr=e
        )
    try:
        _wait_until_up(base, server, out)
        lines = out.read_text().splitlines()
        link = _field(lines, "sign in:").split()[0]
        email, password = _field(lines, "login:").split(" / ")
        email, password = email.strip(), password.strip()
        api_key = _field(lines, "API key:").strip()

        # Opened as printed: a browser sends no fragment, so the link's secret stays behind.
        parts = urlsplit(link)
        page = httpx.get(link)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert parts.path == "/" and not parts.query  # the web app, which reads the fragment
        token = parse_qs(parts.fragment)["login-token"][0]
        signed = httpx.post(f"{base}/api/v1/auth/login-link", json={"token": token})
        assert signed.status_code == 200, signed.text
        access = signed.json()["access_token"]
        assert httpx.get(f"{base}/api/v1/me", headers={"X-API-Key": api_key}).status_code == 200
        login = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200
    finally:
        server.terminate()
        server.wait(30)
    printed = out.read_text().splitlines()
    start = next(i for i, line in enumerate(printed) if line.startswith("voxhub is ready"))
    announcement = printed[start : start + 7]
    for secret in (token, password, api_key, access):
        leaks = [line for line in printed if secret in line and line not in announcement]
        assert leaks == [], leaks
        assert secret not in err.read_text()
    assert sum(token in line for line in announcement) == 2  # the link, and the curl form
