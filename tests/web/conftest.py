"""Browser tests: the real `voxhub serve` in a subprocess, driven by Playwright in Debian's
Chromium (installed by `scripts/install-chromium`; Playwright's own download cannot work here).

Chromium's fake microphone plays a real recording from ../shared/data/speech, so the page's
MediaRecorder records real speech; the fake engine speaks, slowly enough (a delay per chunk) that
streaming is visible.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.conftest import SPEECH, need_server

RECORDING = SPEECH / "cmuarctic_clb_arctic_a0022.wav"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def chromium_path() -> str | None:
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@dataclass
class Server:
    base: str
    email: str
    password: str
    login_link: str
    api_key: str
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _printed(log: Path, label: str) -> str:
    for line in log.read_text().splitlines():
        if line.strip().startswith(label):
            return line.split(label, 1)[1].strip()
    raise AssertionError(f"voxhub did not print {label!r}:\n{log.read_text()[-2000:]}")


@contextmanager
def serving(home: Path, **env: str) -> Iterator[Server]:
    """`voxhub serve` in a subprocess on a free port, with what it printed on first start."""
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = (
        os.environ
        | {
            "VOXHUB_HOME": str(home / "home"),
            "VOXHUB_PORT": str(port),
            # Every test signs in and most add a voice: the walk is one person working very fast.
            "VOXHUB_RATE_LIMIT_LOGIN_PER_MINUTE": "200",
            "VOXHUB_RATE_LIMIT_CLONE_PER_MINUTE": "200",
            "VOXHUB_RATE_LIMIT_TTS_PER_MINUTE": "200",
            "VOXHUB_RATE_LIMIT_DEFAULT_PER_MINUTE": "2000",
        }
        | env
    )
    log = home / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voxhub.cli", "serve"], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.time() + 180
        while "voxhub is ready" not in log.read_text():
            if proc.poll() is not None or time.time() > deadline:
                raise AssertionError("voxhub did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.2)
        time.sleep(0.3)  # the announcement is printed in one go; let it land
        email, password = _printed(log, "login:").split(" / ")
        yield Server(
            base=base,
            email=email.strip(),
            password=password.strip(),
            login_link=_printed(log, "sign in:").split()[0],
            api_key=_printed(log, "API key:"),
            log=log,
        )
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The fake engine, slowed to 0.8 s a sentence so that streaming is visible."""
    with serving(
        tmp_path_factory.mktemp("web"),
        VOXHUB_ENGINES='["fake"]',
        VOXHUB_DEFAULT_ENGINE="fake",
        VOXHUB_FAKE_CHUNK_DELAY_S="0.8",
        # The embedded LLM's chat replies and scripts: seconds each, and room for two lines' JSON.
        VOXHUB_LLM_MAX_REPLY_TOKENS="200",
    ) as running:
        yield running


@asynccontextmanager
async def chromium_hearing(microphone: str) -> AsyncIterator[Browser]:
    """Debian's Chromium whose fake microphone plays `microphone`: a WAV path, with `%noloop`
    to play it once (then silence) rather than round and round. Chromium opens the file each
    time a page's getUserMedia starts a capture, so a test may replace it between recordings."""
    path = chromium_path()
    if path is None:
        need_server("Chromium is not installed (scripts/install-chromium installs it)")
    args = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=path, headless=True, args=args)
        yield chromium
        await chromium.close()


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Browser]:
    async with chromium_hearing(str(RECORDING)) as chromium:
        yield chromium


class PageErrors(list[str]):
    """Uncaught errors and CSP refusals seen by a page: a test ends by asserting there are none."""


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(
        permissions=["microphone"], viewport={"width": 1100, "height": 900}
    )
    yield ctx
    await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[tuple[Page, PageErrors]]:
    tab = await context.new_page()
    errors = PageErrors()
    tab.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    tab.on(
        "console",
        lambda msg: (
            errors.append(f"console: {msg.text}")
            if msg.type == "error" and re.search(r"Content.Security.Policy|Trusted", msg.text)
            else None
        ),
    )
    yield tab, errors


async def sign_in(page: Page, server: Server) -> None:
    await page.goto(server.base + "/")
    await page.get_by_label("Email").fill(server.email)
    await page.get_by_label("Password").fill(server.password)
    await page.get_by_role("button", name="Sign in").click()
    arrived = page.get_by_role("heading", name="Speak").or_(
        page.get_by_role("alert").filter(has_text=".")
    )
    await arrived.first.wait_for()
    assert await page.get_by_role("heading", name="Speak").count(), await page.get_by_role(
        "alert"
    ).inner_text()


async def shoot(page: Page, name: str) -> None:
    """Keep a screenshot of a main screen for the README: with VOXHUB_SCREENSHOTS=1 (`make
    screenshots`), so that a plain test run leaves the tree as it was."""
    if not os.environ.get("VOXHUB_SCREENSHOTS"):
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def api(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.base, headers={"X-API-Key": server.api_key}, timeout=30)


@pytest.fixture
async def fresh_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A second browser profile: no cookies of the first."""
    ctx = await browser.new_context(viewport={"width": 1100, "height": 900})
    yield ctx
    await ctx.close()


@pytest.fixture
async def accessible_page(browser: Browser) -> AsyncIterator[Page]:
    """A page that lets axe-core's script in (the app's own CSP would refuse it, rightly)."""
    ctx = await browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
    yield await ctx.new_page()
    await ctx.close()
