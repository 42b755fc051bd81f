"""The web app at `/`, walked in Chromium against the real server (fake engine, see conftest)."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.conftest import SPEECH
from tests.web.conftest import PageErrors, Server, api, shoot, sign_in

XSS = "<img src=x onerror=alert(1)>"
LONG_TEXT = (
    "The first sentence of a long paragraph is spoken while the rest waits. "
    "A second sentence follows it, a little longer than the first one was. "
    "Then a third, so that the stream has several pieces to send one after another. "
    "And a fourth sentence, which arrives last of all, well after the first began to play."
)


def make_voice(server: Server, name: str) -> str:
    with api(server) as client, (SPEECH / "ljspeech_LJ001-0001.wav").open("rb") as f:
        form = {"name": name, "consent": "self"}
        answer = client.post("/api/v1/voices", files={"file": f}, data=form)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def test_the_page_is_served_under_a_strict_policy(
    page: tuple[Page, PageErrors], server: Server
) -> None:
    tab, errors = page
    answer = await tab.goto(server.base + "/")
    assert answer is not None and answer.status == 200
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "require-trusted-types-for 'script'" in policy
    assert await tab.locator("script:not([src])").count() == 0
    await expect(tab.get_by_role("heading", name="Sign in to voxhub")).to_be_visible()
    await expect(tab.locator("#toasts")).to_be_empty()  # a first visit is not an ended session
    assert errors == []


async def test_a_wrong_password_is_answered_in_words(
    page: tuple[Page, PageErrors], server: Server
) -> None:
    tab, errors = page
    await tab.goto(server.base + "/")
    await tab.get_by_label("Email").fill(server.email)
    await tab.get_by_label("Password").fill("not-the-password")
    await tab.get_by_role("button", name="Sign in").click()
    alert = tab.get_by_role("alert")
    await expect(alert).to_have_text("wrong email or password")
    assert errors == []


async def test_signing_in_keeps_the_session_in_httponly_cookies_and_signing_out_ends_it(
    page: tuple[Page, PageErrors], context: BrowserContext, server: Server
) -> None:
    tab, errors = page
    await sign_in(tab, server)
    await expect(tab.locator("#credits")).to_contain_text("credits")
    cookies = {c["name"]: c for c in await context.cookies()}
    assert cookies["vxh_access"]["httpOnly"] and cookies["vxh_refresh"]["httpOnly"]
    assert not cookies["vxh_csrf"]["httpOnly"]  # the page echoes it in X-CSRF-Token
    assert all(c["sameSite"] == "Strict" for c in cookies.values())
    assert await tab.evaluate("document.cookie.includes('vxh_access')") is False
    assert await tab.evaluate("Object.keys(localStorage)") == ["vxh_theme"]  # no token in storage

    await tab.get_by_role("button", name="Sign out").click()
    await expect(tab.get_by_role("heading", name="Sign in to voxhub")).to_be_visible()
    await tab.reload()
    await expect(tab.get_by_role("heading", name="Sign in to voxhub")).to_be_visible()
    assert errors == []


async def test_a_cookie_session_cannot_change_anything_without_the_csrf_token(
    page: tuple[Page, PageErrors], context: BrowserContext, server: Server
) -> None:
    tab, _ = page
    await sign_in(tab, server)
    # As a forged form post from elsewhere would: the cookies ride along, the header does not.
    forged = await context.request.post(server.base + "/api/v1/api-keys", data={"name": "forged"})
    assert forged.status == 403
    assert (await forged.json())["code"] == "csrf_failed"
    reading = await context.request.get(server.base + "/api/v1/me")
    assert reading.status == 200


async def test_the_printed_sign_in_link_works_once_and_leaves_the_address_bar(
    page: tuple[Page, PageErrors], fresh_context: BrowserContext, server: Server
) -> None:
    tab, errors = page
    await tab.goto(server.login_link)
    await expect(tab.get_by_role("heading", name="Speak")).to_be_visible()
    assert "login-token" not in tab.url
    assert errors == []

    again = await fresh_context.new_page()
    await again.goto(server.login_link)
    await expect(again.locator("#toasts")).to_contain_text("The sign-in link did not work")
    await expect(again.get_by_role("heading", name="Sign in to voxhub")).to_be_visible()


async def test_recording_a_voice_from_the_microphone_shows_its_report(
    page: tuple[Page, PageErrors], server: Server
) -> None:
    tab, errors = page
    await sign_in(tab, server)
    await tab.get_by_role("link", name="Add a voice").click()
    await expect(tab.get_by_role("heading", name="Add a voice")).to_be_visible()
    meter = tab.get_by_role("meter", name="Microphone level")

    async def record(seconds: int) -> None:
        await tab.get_by_role("button", name=re.compile("Start recording|Record again")).click()
        await expect(tab.get_by_text("Recording: read the text aloud.")).to_be_visible(
            timeout=10_000
        )
        await expect(meter).not_to_have_attribute("aria-valuenow", "0", timeout=5_000)  # it hears
        await expect(tab.locator("p.big")).to_have_text(f"0:0{seconds}", timeout=15_000)
        await tab.get_by_role("button", name="Stop").click()
        await expect(tab.get_by_label("Your recording")).to_be_visible()
        await expect(tab.get_by_text("Ready to upload: recording.webm")).to_be_visible()

    # Too little speech: the problem's detail, in words, and nothing stored.
    await record(1)
    await tab.get_by_label("Voice name").fill(XSS)
    # Consent is a required choice; the browser keeps the form until one is made.
    await tab.get_by_label("I am the speaker").check()
    await tab.get_by_role("button", name="Create voice").click()
    await expect(
        tab.get_by_role("alert").filter(has_text="of speech; at least 3 s is needed")
    ).to_be_visible()
    with api(server) as client:
        assert client.get("/api/v1/voices", params={"q": "onerror"}).json()["items"] == []

    await record(5)
    async with tab.expect_response(
        lambda r: r.url.endswith("/api/v1/voices") and r.request.method == "POST"
    ) as sent:
        await tab.get_by_role("button", name="Create voice").click()
    answer = await sent.value
    assert answer.status == 201, await answer.text()
    (reference,) = (await answer.json())["reports"]
    assert reference["container"] == "matroska,webm"  # MediaRecorder's WebM/Opus
    assert reference["speech_s"] > 1.5  # ~3 s recorded from the fake microphone's real speech

    created = tab.get_by_role("heading", name=f"“{XSS}” is ready to speak")
    await expect(created).to_be_visible()
    report = tab.locator("dl.report")
    await expect(report).to_contain_text("Speech")
    await expect(report).to_contain_text("WebM")
    await expect(tab.locator("section [data-status]")).to_be_visible()
    assert await tab.locator("img").count() == 0  # the name was text, never markup
    await shoot(tab, "add-voice")
    assert errors == []


async def test_speech_starts_playing_before_the_stream_ends(
    page: tuple[Page, PageErrors], server: Server
) -> None:
    tab, errors = page
    voice_id = make_voice(server, "Streamer")
    await sign_in(tab, server)
    await tab.goto(f"{server.base}/#/speak/{voice_id}")
    await expect(tab.get_by_label("Voice")).to_have_value(voice_id)
    await tab.get_by_label("Text").fill(LONG_TEXT)
    await expect(tab.get_by_text(f"{len(LONG_TEXT)} / ")).to_be_visible()
    await tab.get_by_role("button", name="Speak").click()

    status = tab.locator("form p[role=status]")
    await expect(status).to_contain_text("Playing after", timeout=30_000)
    # Still streaming (the fake engine waits between chunks), and the audio has moved on already.
    await tab.wait_for_function(
        "() => document.querySelector('audio[aria-label=Speech]').currentTime > 0.2"
    )
    assert "Done" not in await status.inner_text()
    await expect(status).to_contain_text("Done", timeout=60_000)
    await expect(status).to_contain_text("the first words played after")
    await expect(tab.get_by_role("link", name="Download").first).to_be_visible()

    # The history replays what was spoken.
    replay = tab.get_by_role("button", name=f"Play: {LONG_TEXT[:40]}")
    await replay.click()
    await expect(replay).to_have_text("Pause")
    await tab.wait_for_function(
        "() => document.querySelector('audio[aria-label=Replay]').currentTime > 0.2"
    )
    await shoot(tab, "speak")
    assert errors == []


async def test_a_job_moves_live_on_the_jobs_page(
    page: tuple[Page, PageErrors], server: Server
) -> None:
    tab, errors = page
    voice_id = make_voice(server, "Job voice")
    await sign_in(tab, server)
    followed: list[str] = []
    tab.on("request", lambda r: followed.append(r.url) if r.url.endswith("/events") else None)
    await tab.get_by_role("link", name="Jobs").click()
    await expect(tab.get_by_role("heading", name="Jobs")).to_be_visible()

    with api(server) as client:
        answer = client.post(
            "/api/v1/speech",
            json={"voice_id": voice_id, "text": LONG_TEXT * 2, "format": "wav", "async": True},
        )
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    await tab.reload()  # the list shows it at once rather than at the next 15 s poll
    row = tab.locator(f"article[data-job='{job_id}']")
    await expect(row).to_be_visible()
    seen: set[str] = set()
    for _ in range(200):
        seen.add(await row.locator("[role=progressbar]").get_attribute("aria-valuenow") or "")
        if await row.locator("[data-status=succeeded]").count():
            break
        await asyncio.sleep(0.1)
    assert await row.locator("[data-status=succeeded]").count() == 1
    assert any(0 < int(v) < 100 for v in seen if v), seen  # progress moved through the middle
    assert any(job_id in url for url in followed)  # by its event stream, not by reloading
    await expect(row.get_by_role("link", name="Open audio url")).to_be_visible()
    await shoot(tab, "jobs")
    assert errors == []


async def test_api_keys_are_shown_once_and_can_be_revoked(
    page: tuple[Page, PageErrors], server: Server
) -> None:
    tab, errors = page
    await sign_in(tab, server)
    await tab.get_by_role("link", name="Account").click()
    await tab.get_by_label("Key name").fill("browser test key")
    await tab.get_by_role("button", name="Create key").click()
    key = await tab.locator("[data-key]").inner_text()
    assert key.startswith("vxh_")
    row = tab.get_by_role("row").filter(has_text="browser test key")
    await expect(row).to_be_visible()
    await expect(row).not_to_contain_text(key)  # the table shows only its prefix
    await shoot(tab, "account")

    with api(server) as client:
        assert client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 200
    await row.get_by_role("button", name="Revoke").click()
    await (
        tab.get_by_role("dialog", name="Revoke “browser test key”?")
        .get_by_role("button", name="Revoke it")
        .click()
    )
    await expect(row).to_have_count(0)
    with api(server) as client:
        assert client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 401
    assert errors == []


async def test_the_library_searches_edits_and_deletes(
    page: tuple[Page, PageErrors], server: Server
) -> None:
    tab, errors = page
    make_voice(server, "Library Lena")
    await sign_in(tab, server)
    await tab.get_by_role("link", name="Voices").click()
    await tab.get_by_label("Search").fill("Lena")
    card = tab.get_by_role("article", name="Library Lena")
    await expect(card).to_be_visible()
    await expect(tab.locator("article.voice")).to_have_count(1)
    await expect(tab.get_by_role("button", name="Show more")).to_be_hidden()  # no next page
    await shoot(tab, "voices")

    await card.get_by_role("button", name="Edit").click()
    dialog = tab.get_by_role("dialog")
    await dialog.get_by_label("Name").fill("Library Lena II")
    await dialog.get_by_label("Tags").fill("narrator, calm")
    await dialog.get_by_role("button", name="Save").click()
    renamed = tab.get_by_role("article", name="Library Lena II")
    await expect(renamed).to_contain_text("narrator")

    await renamed.get_by_role("button", name="Delete").click()
    await tab.get_by_role("dialog").get_by_role("button", name="Delete for good").click()
    await expect(tab.get_by_text("No voice matches.")).to_be_visible()
    assert errors == []


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_the_main_screens_pass_the_accessibility_check(
    accessible_page: Page, server: Server, theme: str
) -> None:
    from axe_playwright_python.async_playwright import Axe

    tab = accessible_page
    make_voice(server, "Axe voice")
    await sign_in(tab, server)
    await tab.evaluate(f"document.documentElement.dataset.theme = '{theme}'")
    found: dict[str, list[str]] = {}
    for screen, heading in [
        ("speak", "Speak"),
        ("voices", "Voices"),
        ("add", "Add a voice"),
        ("characters", "Characters"),
        ("scripts", "Scripts"),
        ("jobs", "Jobs"),
        ("activity", "Activity"),
        ("account", "Account"),
    ]:
        await tab.goto(f"{server.base}/#/{screen}")
        await expect(tab.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        await expect(tab.locator("#view")).not_to_have_attribute("aria-busy", "true")
        results = await Axe().run(tab)
        assert results.response["passes"], "axe checked nothing"
        serious = [
            f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes: {v['nodes'][0]['target']})"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if serious:
            found[screen] = serious
    assert found == {}


async def test_the_page_fits_a_phone(fresh_context: BrowserContext, server: Server) -> None:
    tab = await fresh_context.new_page()
    await tab.set_viewport_size({"width": 390, "height": 844})
    await sign_in(tab, server)
    for screen in [
        "speak",
        "voices",
        "add",
        "characters",
        "scripts",
        "jobs",
        "activity",
        "account",
    ]:
        await tab.goto(f"{server.base}/#/{screen}")
        await expect(tab.locator("#view h1")).to_be_visible()
        await expect(tab.locator("#view")).not_to_have_attribute("aria-busy", "true")
        overflow = await tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        wide = await tab.evaluate(
            "() => [...document.querySelectorAll('#view *')]"
            ".filter((e) => e.getBoundingClientRect().right > window.innerWidth)"
            ".map((e) => e.tagName + '.' + e.className).slice(0, 5)"
        )
        assert overflow <= 0, f"#{screen} scrolls sideways by {overflow} px on a phone: {wide}"
        if screen in ("speak", "account"):
            await shoot(tab, f"phone-{screen}")
