"""Spoken consent in the web app, in Chromium against a real `voxhub serve` under policy
"spoken": the add-voice page asks for a phrase, records it being read, and sends it with the
upload; the server's refusal of another speaker is shown in words and stores nothing.

No person can be recorded here: the phrase the page shows is synthesized by the embedded
Kokoro engine in this process (stock voice af_heart) and becomes Chromium's fake microphone
just before the recording starts; the reference uploaded is the same voice saying other words.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from playwright.async_api import Browser, Page, expect

from tests.api.conftest import make_settings
from tests.safety.spoken_helpers import REFERENCE_TEXT
from tests.web.conftest import Server, api, chromium_hearing, serving, sign_in
from voxhub.engines.base import SynthesisParams
from voxhub.engines.embedded import EmbeddedEngine
from voxhub.settings import EngineSettings

INSTANCE = "Studio Nine"
# The recorder counts down 3 x 0.7 s after the capture opens, and only then records: the fake
# microphone's speech starts after this much silence, so none of it falls in the countdown.
LEAD_S = 4.0
TAIL_S = 1.5
# What the page says for each refusal (js/consent.js), exactly.
SPEAKER_MISMATCH = (
    "The voice reading the phrase is not the voice of the recording: the speaker must read the"
    " phrase themself."
)

MORE_TEXT = (
    "The library opens at nine every morning, and on Saturdays the children come to hear a "
    "story read aloud by one of the volunteers."
)
USED = "That phrase was used already. Here is a new one: record it again."

Say = Callable[[str, str], Awaitable[tuple[np.ndarray, int]]]


@pytest.fixture(scope="module")
def spoken_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(
        tmp_path_factory.mktemp("spoken-web"),
        VOXHUB_ENGINES='["fake"]',
        VOXHUB_DEFAULT_ENGINE="fake",
        VOXHUB_CONSENT_POLICY="spoken",
        VOXHUB_INSTANCE_NAME=INSTANCE,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What Chromium's fake microphone plays; silence until a test puts a phrase there."""
    path = tmp_path_factory.mktemp("mic") / "microphone.wav"
    sf.write(path, np.zeros(24_000, dtype=np.float32), 24_000, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
async def hearing(microphone: Path) -> AsyncIterator[Browser]:
    async with chromium_hearing(f"{microphone}%noloop") as chromium:
        yield chromium


@pytest.fixture(scope="module")
async def say(
    speaker_encoder: object, shared: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Say]:
    """Kokoro's stock voices, speaking text: (samples, sample rate)."""
    settings = make_settings(tmp_path_factory.mktemp("kokoro"), "sqlite+aiosqlite://")
    settings.engine = EngineSettings(
        kokoro_voices_dir=shared / "models" / "kokoro" / "voices", kokoro_download=False
    )
    engine = EmbeddedEngine(settings, speaker_encoder)  # type: ignore[arg-type]
    await engine.load()

    async def speak(text: str, voice: str) -> tuple[np.ndarray, int]:
        profile = engine.stock_profile(voice)
        params = SynthesisParams(language="en")
        chunks = [c.samples async for c in engine.synthesize(text, profile, params)]
        return np.concatenate(chunks), engine.info.sample_rate

    try:
        yield speak
    finally:
        await engine.aclose()


@pytest.fixture(scope="module")
async def reference(say: Say, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """af_heart saying other words than any phrase: the recording the voice is cloned from."""
    samples, rate = await say(REFERENCE_TEXT, "af_heart")
    path = tmp_path_factory.mktemp("reference") / "reference.wav"
    sf.write(path, samples, rate, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
async def more(say: Say, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """af_heart again, other words again: a second recording of the voice."""
    samples, rate = await say(MORE_TEXT, "af_heart")
    path = tmp_path_factory.mktemp("more") / "more.wav"
    sf.write(path, samples, rate, subtype="PCM_16")
    return path


async def open_add_voice(page: Page, server: Server) -> dict[str, str]:
    """Signed in, on the add-voice page; the phrase the server issued to it, as it shows it."""
    await sign_in(page, server)
    async with page.expect_response(
        lambda r: r.url.endswith("/api/v1/consent/challenge") and r.request.method == "POST"
    ) as issued:
        await page.get_by_role("link", name="Add a voice").click()
    answer = await issued.value
    assert answer.status == 201, await answer.text()
    phrase = await answer.json()
    step = page.get_by_role("group", name="Read this aloud")
    await expect(step.locator("blockquote.phrase")).to_have_text(phrase["text"])
    await expect(step.locator("strong.code")).to_have_text(phrase["code"])
    assert phrase["code"] in phrase["text"] and INSTANCE in phrase["text"]
    return dict(phrase)


async def read_aloud(page: Page, microphone: Path, samples: np.ndarray, rate: int) -> None:
    """Put the reading on the fake microphone (whole, in one rename), record it, stop."""
    silence = np.zeros(int(LEAD_S * rate), dtype=samples.dtype)
    tail = np.zeros(int(TAIL_S * rate), dtype=samples.dtype)
    staged = microphone.with_suffix(".part")
    sf.write(staged, np.concatenate([silence, samples, tail]), rate, subtype="PCM_16", format="WAV")
    os.replace(staged, microphone)
    step = page.get_by_role("group", name="Read this aloud")
    await step.get_by_role("button", name="Start recording").click()
    await expect(step.get_by_text("Recording: read the text aloud.")).to_be_visible(timeout=10_000)
    # Recording began ~2.1 s into the file; stop once the speech and a little of the tail are in.
    seconds = math.ceil(LEAD_S - 2.1 + len(samples) / rate + TAIL_S * 0.6)
    await page.wait_for_function(
        """([timer, seconds]) => {
            const [m, s] = timer.textContent.split(":").map(Number);
            return m * 60 + s >= seconds;
        }""",
        arg=[await step.locator("p.big").element_handle(), seconds],
        timeout=(seconds + 20) * 1000,
    )
    await step.get_by_role("button", name="Stop").click()
    await expect(page.get_by_label("Your consent recording")).to_be_visible()


async def fill_form(page: Page, name: str, reference: Path) -> None:
    await page.get_by_label("Choose a file").set_input_files(reference)
    await expect(page.get_by_text("Ready to upload: reference.wav")).to_be_visible()
    await page.get_by_label("Voice name").fill(name)
    await page.get_by_label("I am the speaker").check()


def my_voices(server: Server) -> list[str]:
    with api(server) as client:
        page = client.get("/api/v1/voices", params={"mine": "true", "limit": "100"})
    assert page.status_code == 200, page.text
    return [v["id"] for v in page.json()["items"]]


@asynccontextmanager
async def listening_page(browser: Browser) -> AsyncIterator[tuple[Page, list[str]]]:
    """A page allowed the fake microphone, and the uncaught errors it raises (each test ends
    by asserting there were none)."""
    ctx = await browser.new_context(
        permissions=["microphone"], viewport={"width": 1100, "height": 900}
    )
    try:
        page = await ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page, errors
    finally:
        await ctx.close()


@pytest.mark.timeout(420)
async def test_a_voice_is_cloned_and_grown_with_the_phrase_read_aloud(
    hearing: Browser,
    spoken_server: Server,
    microphone: Path,
    say: Say,
    reference: Path,
    more: Path,
) -> None:
    async with listening_page(hearing) as (page, errors):
        with api(spoken_server) as client:
            told = client.get("/api/v1/consent/policy").json()
        assert told == {"policy": "spoken", "instance_name": INSTANCE, "retention_days": 3650}
        await open_add_voice(page, spoken_server)
        step = page.get_by_role("group", name="Read this aloud")
        # A new phrase replaces the one shown.
        async with page.expect_response(lambda r: r.url.endswith("/consent/challenge")) as renewed:
            await step.get_by_role("button", name="New phrase").click()
        phrase = await (await renewed.value).json()
        await expect(step.locator("blockquote.phrase")).to_have_text(phrase["text"])
        await expect(
            step.get_by_role("status").filter(has_text="Here is a new phrase.")
        ).to_be_visible()

        samples, rate = await say(phrase["text"], "af_heart")
        await read_aloud(page, microphone, samples, rate)
        await fill_form(page, "Heart", reference)
        before = my_voices(spoken_server)
        async with page.expect_response(
            lambda r: r.url.endswith("/api/v1/voices") and r.request.method == "POST"
        ) as sent:
            await page.get_by_role("button", name="Create voice").click()
        answer = await sent.value
        assert answer.status == 201, await answer.text()
        voice_id = (await answer.json())["id"]
        await expect(page.get_by_role("heading", name="“Heart” is ready to speak")).to_be_visible()
        after = my_voices(spoken_server)
        assert (len(after), set(after)) == (len(before) + 1, {voice_id, *before})

        with api(spoken_server) as client:  # the printed API key is the admin's
            audit = client.get(
                "/api/v1/admin/audit", params={"action": "consent_recorded", "target_id": voice_id}
            )
        assert audit.status_code == 200, audit.text
        (recorded,) = audit.json()["items"]
        details = recorded["details"]
        assert (details["kind"], details["attestation"], details["policy"]) == (
            "spoken",
            "self",
            "spoken",
        )

        # Another recording of the voice, from the library: its own phrase, read again.
        await page.get_by_role("link", name="Voices").click()
        card = page.get_by_role("article", name="Heart")
        async with page.expect_response(lambda r: r.url.endswith("/consent/challenge")) as issued:
            await card.get_by_role("button", name="Add a recording").click()
        again = await (await issued.value).json()
        dialog = page.get_by_role("dialog")
        await expect(dialog.locator("blockquote.phrase")).to_have_text(again["text"])
        samples, rate = await say(again["text"], "af_heart")
        await read_aloud(page, microphone, samples, rate)
        await dialog.get_by_label("Another recording of this voice").set_input_files(more)
        await dialog.get_by_label("I am the speaker").check()
        async with page.expect_response(
            lambda r: r.url.endswith(f"/api/v1/voices/{voice_id}/references")
        ) as added:
            await dialog.get_by_role("button", name="Add", exact=True).click()
        answer = await added.value
        assert answer.status == 201, await answer.text()
        await expect(dialog.locator("dl.report")).to_have_count(1)
        with api(spoken_server) as client:
            audit = client.get(
                "/api/v1/admin/audit", params={"action": "consent_recorded", "target_id": voice_id}
            )
        kinds = [(e["details"]["kind"], e["details"]["policy"]) for e in audit.json()["items"]]
        assert kinds == [("spoken", "spoken"), ("spoken", "spoken")]
        assert errors == []


@pytest.mark.timeout(420)
async def test_another_speaker_reading_the_phrase_is_refused_in_words(
    hearing: Browser, spoken_server: Server, microphone: Path, say: Say, reference: Path
) -> None:
    async with listening_page(hearing) as (page, errors):
        phrase = await open_add_voice(page, spoken_server)
        samples, rate = await say(phrase["text"], "am_michael")
        await read_aloud(page, microphone, samples, rate)
        await fill_form(page, "Not Michael", reference)
        before = my_voices(spoken_server)
        async with page.expect_response(
            lambda r: r.url.endswith("/api/v1/voices") and r.request.method == "POST"
        ) as sent:
            await page.get_by_role("button", name="Create voice").click()
        answer = await sent.value
        assert answer.status == 422, await answer.text()
        assert (await answer.json())["code"] == "speaker_mismatch"
        step = page.get_by_role("group", name="Read this aloud")
        await expect(step.get_by_role("alert")).to_have_text(SPEAKER_MISMATCH)
        await expect(
            page.get_by_role("heading", name="“Not Michael” is ready to speak")
        ).to_have_count(0)
        assert my_voices(spoken_server) == before
        assert errors == []


@pytest.mark.timeout(420)
async def test_a_phrase_used_meanwhile_is_replaced_and_the_page_says_so(
    hearing: Browser,
    spoken_server: Server,
    microphone: Path,
    say: Say,
    reference: Path,
    more: Path,
) -> None:
    """The page's phrase consents to another voice (through the API, as the same user) before
    the page sends it: 409, and the page fetches a new phrase and asks for a new reading."""
    async with listening_page(hearing) as (page, errors):
        phrase = await open_add_voice(page, spoken_server)
        samples, rate = await say(phrase["text"], "af_heart")
        await read_aloud(page, microphone, samples, rate)
        await fill_form(page, "Too late", reference)
        buf = io.BytesIO()
        sf.write(buf, samples, rate, subtype="PCM_16", format="WAV")
        with api(spoken_server) as client:
            used = client.post(
                "/api/v1/voices",
                files=[
                    ("files", ("more.wav", more.read_bytes())),
                    ("consent_audio", ("consent.wav", buf.getvalue())),
                ],
                data={"name": "First", "consent": "self", "consent_phrase_id": phrase["phrase_id"]},
            )
        assert used.status_code == 201, used.text
        before = my_voices(spoken_server)

        async with (
            page.expect_response(
                lambda r: r.url.endswith("/api/v1/voices") and r.request.method == "POST"
            ) as sent,
            page.expect_response(lambda r: r.url.endswith("/consent/challenge")) as renewed,
        ):
            await page.get_by_role("button", name="Create voice").click()
        answer = await sent.value
        assert answer.status == 409, await answer.text()
        assert (await answer.json())["code"] == "consent_phrase_used"
        fresh = await (await renewed.value).json()
        assert fresh["phrase_id"] != phrase["phrase_id"]
        step = page.get_by_role("group", name="Read this aloud")
        await expect(step.locator("blockquote.phrase")).to_have_text(fresh["text"])
        await expect(step.get_by_role("status").filter(has_text=USED)).to_have_text(USED)
        await expect(page.get_by_label("Your consent recording")).to_be_hidden()
        assert my_voices(spoken_server) == before
        assert errors == []


async def test_the_read_aloud_step_passes_the_accessibility_check(
    hearing: Browser, spoken_server: Server
) -> None:
    from axe_playwright_python.async_playwright import Axe

    # axe-core's script is let in (the app's own CSP would refuse it, rightly).
    ctx = await hearing.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
    page = await ctx.new_page()
    try:
        await open_add_voice(page, spoken_server)
        found: dict[str, list[str]] = {}
        for theme in ("light", "dark"):
            await page.evaluate(f"document.documentElement.dataset.theme = '{theme}'")
            results = await Axe().run(page)
            assert results.response["passes"], "axe checked nothing"
            serious = [
                f"{v['id']}: {v['help']} ({v['nodes'][0]['target']})"
                for v in results.response["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            if serious:
                found[theme] = serious
        assert found == {}
    finally:
        await ctx.close()
