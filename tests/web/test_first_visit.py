"""A newcomer's first visit, with the real embedded engine: open the printed link, record a voice,
watch its profile refine, hear it speak a paragraph as it streams."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect

from tests.web.conftest import PageErrors, Server, serving

PARAGRAPH = (
    "Good morning, and welcome to voxhub. This is my own voice, cloned from a few seconds "
    "recorded in the browser a moment ago. It can read a whole paragraph like this one."
)


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Two refinement candidates instead of twenty: the status still goes instant, refining,
    # ready, in seconds rather than minutes on two cores.
    with serving(tmp_path_factory.mktemp("web-embedded"), VOXHUB_REFINE_BUDGET="2") as running:
        yield running


@pytest.mark.slow
async def test_a_newcomer_records_a_voice_and_hears_it_speak(
    page: tuple[Page, PageErrors], embedded_server: Server
) -> None:
    tab, errors = page
    began = time.monotonic()
    await tab.goto(embedded_server.login_link)
    await expect(tab.get_by_text("There is no voice yet.")).to_be_visible()
    await tab.get_by_role("link", name="Add your first voice").click()

    await tab.get_by_role("button", name="Start recording").click()
    await expect(tab.locator("p.big")).to_have_text("0:06", timeout=20_000)
    await tab.get_by_role("button", name="Stop").click()
    await tab.get_by_label("Voice name").fill("My voice")
    await tab.get_by_label("I am the speaker").check()  # whose voice it is (consent)
    await tab.get_by_role("button", name="Create voice").click()
    await expect(tab.get_by_role("heading", name="“My voice” is ready to speak")).to_be_visible(
        timeout=60_000
    )
    status = tab.locator("section [data-status]")
    await expect(status).to_have_attribute("data-status", "refining")
    await expect(status).to_have_attribute("data-status", "ready", timeout=180_000)  # live
    await expect(status).to_contain_text("similarity")
    refined = time.monotonic()

    await tab.get_by_role("link", name="Speak with this voice").click()
    await tab.get_by_label("Text").fill(PARAGRAPH)
    await tab.get_by_role("button", name="Speak").click()
    info = tab.locator("form p[role=status]")
    await expect(info).to_contain_text("Playing after", timeout=60_000)
    heard = time.monotonic()
    await expect(info).to_contain_text("Done", timeout=120_000)
    await expect(info).to_contain_text("the first words played after")
    duration = await tab.evaluate(
        "() => document.querySelector('audio[aria-label=Speech]').duration"
    )
    assert duration > 5.0  # the whole paragraph, not a fragment
    print(
        f"\nfirst visit: signed in, recorded and created a voice, refined in "
        f"{refined - began:.1f} s; first words heard {heard - refined:.1f} s after asking; "
        f"{duration:.1f} s of speech"
    )
    assert errors == []
