"""The studio in the browser: characters with images and stars, a chat whose replies are written
and spoken as they arrive (the embedded LLM, the fake engine's voice), the activity log."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw
from playwright.async_api import Page, expect

from tests.web.conftest import PageErrors, Server, api, shoot, sign_in
from tests.web.test_web_app import make_voice

NAME = "Captain <b>Nemo</b>"


def portrait_png() -> bytes:
    """A small drawn face: a real PNG for the server to decode and re-encode."""
    image = Image.new("RGB", (320, 320), (40, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((60, 40, 260, 280), fill=(240, 200, 170))
    draw.ellipse((110, 120, 140, 150), fill=(20, 20, 20))
    draw.ellipse((180, 120, 210, 150), fill=(20, 20, 20))
    draw.arc((110, 170, 210, 240), 20, 160, fill=(120, 30, 30), width=6)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def test_a_character_is_made_pictured_starred_and_chatted_with(
    page: tuple[Page, PageErrors], server: Server
) -> None:
    tab, errors = page
    make_voice(server, "Nemo's voice")
    await sign_in(tab, server)
    await tab.get_by_role("link", name="Characters").click()
    await tab.get_by_role("button", name="New character").click()
    form = tab.get_by_role("dialog", name="New character")
    await form.get_by_label("Name").fill(NAME)
    await form.get_by_label("Persona").fill("A calm submarine captain who answers in one sentence.")
    await form.get_by_label("Voice").select_option(label="Nemo's voice")
    await form.get_by_label("Speed").fill("1.2")
    await form.get_by_label("Trim silence").check()
    await form.get_by_role("button", name="Create").click()
    card = tab.get_by_role("article", name=NAME)
    await expect(card.get_by_role("heading", name=NAME)).to_be_visible()  # as text, no <b>
    with api(server) as client:
        (made,) = [
            c for c in client.get("/api/v1/characters").json()["items"] if c["display_name"] == NAME
        ]
    config = made["config"]
    assert (config["speed"], config["cross_fade_duration"], config["remove_silences"]) == (
        1.2,
        0.15,
        True,
    )
    assert await tab.locator("#view b").count() == 0

    await card.get_by_role("button", name="Images").click()
    images = tab.get_by_role("dialog", name=f"Images of “{NAME}”")
    await images.get_by_label("Image", exact=True).set_input_files(
        files=[{"name": "nemo.png", "mimeType": "image/png", "buffer": portrait_png()}]
    )
    await images.get_by_label("Mood label").fill("calm")
    await images.get_by_role("button", name="Add image").click()
    await expect(images.get_by_role("img", name="calm")).to_be_visible()
    await images.get_by_role("button", name="Close").click()
    portrait = card.get_by_role("img")
    await expect(portrait).to_be_visible()
    await tab.wait_for_function(
        "() => [...document.querySelectorAll('img.portrait')].some((i) => i.naturalWidth > 0)"
    )  # the image loaded, with the session cookie
    star = card.get_by_role("button", name=f"Star {NAME}")
    await star.click()
    await expect(card.get_by_role("button", name=f"Unstar {NAME}")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(card).to_contain_text("★ 1")
    await shoot(tab, "characters")

    await card.get_by_role("link", name="Chat").click()
    await expect(tab.get_by_role("heading", name=f"Chat with {NAME}")).to_be_visible()
    await tab.get_by_role("textbox", name="Message").fill(
        "Hello captain, where are we going today?"
    )
    await tab.get_by_role("textbox", name="Message").press("Enter")
    reply = tab.locator(".bubble.assistant").last
    # The first message may meet the local model still loading: the page waits and asks again.
    voice = tab.locator("audio[aria-label='Reply voice']")
    await expect(voice).not_to_have_attribute("data-played", "0", timeout=120_000)  # speaking
    await expect(reply).not_to_have_class("bubble assistant writing", timeout=120_000)
    written = await reply.locator(".text").inner_text()
    assert written.strip() and "trying again" not in written, written
    await expect(reply.get_by_label("Spoken reply")).to_be_attached()
    await expect(tab.locator(".threads a")).to_have_count(1)  # the chat is listed
    await shoot(tab, "chat")

    await tab.reload()  # the conversation was stored
    await expect(tab.locator(".bubble")).to_have_count(2)
    await expect(tab.locator(".bubble.user")).to_contain_text("where are we going today?")
    assert errors == []


async def test_the_activity_log_lists_and_clears(
    page: tuple[Page, PageErrors], server: Server
) -> None:
    tab, errors = page
    make_voice(server, "Logged voice")
    await sign_in(tab, server)
    await tab.get_by_role("link", name="Activity").click()
    log = tab.get_by_role("region", name="Activity log")
    await expect(log.get_by_text("Logged voice").first).to_be_visible()
    await tab.get_by_label("Show").select_option("voice")
    await expect(log.locator("li .pill").first).to_have_text("voice")
    await shoot(tab, "activity")

    await tab.get_by_role("button", name="Clear the log").click()
    await tab.get_by_role("dialog").get_by_role("button", name="Clear it").click()
    await expect(log.get_by_text("Nothing here yet.")).to_be_visible()
    assert errors == []


def make_character(server: Server, name: str, voice_id: str) -> str:
    with api(server) as client:
        answer = client.post(
            "/api/v1/characters",
            json={
                "display_name": name,
                "voice_id": voice_id,
                "persona_prompt": f"{name}, cheerful.",
            },
        )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def test_a_script_is_written_edited_and_rendered_to_audio_and_video(
    page: tuple[Page, PageErrors], server: Server
) -> None:
    tab, errors = page
    voice = make_voice(server, "Script voice")
    make_character(server, "Ada", voice)
    make_character(server, "Bo", voice)
    await sign_in(tab, server)
    await tab.get_by_role("link", name="Scripts").click()
    for name in ("Ada", "Bo"):
        await tab.get_by_role("checkbox", name=name).check()
    await tab.get_by_label("What happens").fill("Ada and Bo greet each other at the station.")
    await tab.get_by_label("Lines").fill("2")
    await tab.get_by_role("button", name="Write the script").click()
    lines = tab.get_by_role("list", name="Lines").locator("li.line")
    await expect(lines).to_have_count(2, timeout=120_000)  # the embedded LLM wrote it

    await lines.first.get_by_role("button", name="Edit").click()
    edit = tab.get_by_role("dialog", name="Edit line")
    await edit.get_by_label("Text").fill("Hello there, <i>friend</i>. The train is late again.")
    await edit.get_by_role("button", name="Save line").click()
    await expect(lines.first.locator(".say")).to_have_text(
        "Hello there, <i>friend</i>. The train is late again."
    )
    assert await tab.locator("#view i").count() == 0

    await tab.get_by_label("Ambience", exact=True).select_option("rain")
    await tab.get_by_role("button", name="Render").click()
    status = tab.locator("#render-title [data-status]")
    await expect(status).to_have_attribute("data-status", "succeeded", timeout=120_000)
    dialogue = tab.get_by_label("The dialogue")
    await expect(dialogue).to_be_visible()
    await tab.wait_for_function(
        "() => document.querySelector('audio[aria-label=\"The dialogue\"]').readyState >= 1"
    )  # the mixed audio loads
    await expect(tab.get_by_role("link", name="Captions (SRT)")).to_be_visible()

    await tab.get_by_label("Output").select_option("video")
    await tab.get_by_role("button", name="Render").click()
    await expect(status).to_have_attribute("data-status", "running", timeout=30_000)
    await expect(status).to_have_attribute("data-status", "succeeded", timeout=240_000)
    await tab.wait_for_function(
        "() => { const v = document.querySelector('video'); return v && v.readyState >= 1"
        " && v.videoWidth > 0 && v.duration > 1; }"
    )  # a real MP4 with a picture, as long as the dialogue
    await shoot(tab, "script")
    assert errors == []
