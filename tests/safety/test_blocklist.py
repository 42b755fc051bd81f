"""No-go voices: admins block speakers (from a recording or an existing voice), and a new
reference of a blocked speaker is refused 403 `voice_blocked`, audited, with nothing stored.

Real speech from ../shared/data/speech: the blocked entry and the refused upload are two
different recordings of one speaker (VCTK p225's utterances 003 and 008; LJ Speech's 0001 and
0005), and the one that still clones is another speaker (VCTK p227).
"""

from __future__ import annotations

import httpx
import numpy as np
from sqlalchemy import func, select

from tests.api import conftest as api
from tests.api.conftest import Account, client_for, create_voice, make_user, speech_file
from tests.conftest import ODD
from voxhub.accounts.models import Role
from voxhub.container import Container
from voxhub.safety.blocklist import BLOCK_THRESHOLD, closest_blocked
from voxhub.safety.blocklist_models import BlockedVoice
from voxhub.voices.models import Voice, VoiceProfileRow, VoiceReference
from voxhub.voices.profiles import embedding_to_npy

# The real app over SQLite and PostgreSQL, as tests/api has it (its conftest is not ours).
container, fake_engine = api.container, api.fake_engine
user_a, user_b, client, client_b, anon = api.user_a, api.user_b, api.client, api.client_b, api.anon

BLOCKED = "/api/v1/admin/blocked-voices"
AUDIT = "/api/v1/admin/audit"
PROBLEM_KEYS = {"type", "title", "status", "code", "detail"}


async def stored(c: Container) -> dict[str, int]:
    """Rows of every table a clone writes to, blobs, and entries on the list."""
    async with c.sessions() as s:
        out = {
            model.__tablename__: await s.scalar(select(func.count()).select_from(model)) or 0
            for model in (Voice, VoiceReference, VoiceProfileRow, BlockedVoice)
        }
    out["blobs"] = len(await c.blobs.list(""))
    return out


async def admin_client(c: Container) -> httpx.AsyncClient:
    return client_for(c, await make_user(c, "root@example.com", Role.admin))


async def block_recording(root: httpx.AsyncClient, file: str, label: str) -> dict:
    fname, data = speech_file(file)
    r = await root.post(BLOCKED, files={"file": (fname, data)}, data={"label": label})
    assert r.status_code == 201, r.text
    return r.json()


async def upload(
    client: httpx.AsyncClient, file: str, voice_id: str | None = None
) -> httpx.Response:
    fname, data = speech_file(file)
    if voice_id is None:
        form = {"name": "Mine", "consent": "self"}
        return await client.post("/api/v1/voices", files={"file": (fname, data)}, data=form)
    return await client.post(
        f"/api/v1/voices/{voice_id}/references",
        files={"file": (fname, data)},
        data={"consent": "self"},
    )


def assert_refused_blindly(r: httpx.Response, entry: dict) -> None:
    """403 voice_blocked that says nothing about the list: not who, not which, not how close."""
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["code"] == "voice_blocked"
    assert set(body) == PROBLEM_KEYS
    assert entry["label"] not in r.text and entry["id"] not in r.text


async def refusals(root: httpx.AsyncClient) -> list[dict]:
    page = await root.get(AUDIT, params={"action": "voice_blocked", "outcome": "refused"})
    assert page.status_code == 200, page.text
    items: list[dict] = page.json()["items"]
    return items


async def test_a_blocked_recording_refuses_that_speaker_until_removed(
    container: Container, client: httpx.AsyncClient, user_a: Account
) -> None:
    async with await admin_client(container) as root:
        before = await stored(container)
        entry = await block_recording(root, "vctk_p225_003.wav", "Speaker P225")
        assert entry["source"] == "recording" and entry["source_voice_id"] is None
        assert len(entry["source_sha256"]) == 64
        after_block = await stored(container)
        # One row on the list, and no audio kept: not a blob more.
        assert after_block == before | {"blocked_voices": 1}
        again = await root.post(
            BLOCKED,
            files={"file": speech_file("vctk_p225_003.wav")},
            data={"label": "Twice"},
        )
        assert again.status_code == 409, again.text

        # Another recording of the blocked speaker: refused, nothing stored, audited once.
        refused = await upload(client, "vctk_p225_008.wav")
        assert_refused_blindly(refused, entry)
        assert await stored(container) == after_block
        events = await refusals(root)
        assert len(events) == 1
        event = events[0]
        assert (event["actor_id"], event["target_id"]) == (user_a.id, None)
        assert event["details"]["blocked_voice_id"] == entry["id"]
        assert event["details"]["similarity"] >= BLOCK_THRESHOLD

        # Another speaker still clones; adding the blocked speaker to that voice is refused too.
        other = await upload(client, "vctk_p227_003.wav")
        assert other.status_code == 201, other.text
        voice_id = other.json()["id"]
        with_voice = await stored(container)
        refused_ref = await upload(client, "vctk_p225_008.wav", voice_id)
        assert_refused_blindly(refused_ref, entry)
        assert await stored(container) == with_voice
        events = await refusals(root)
        assert len(events) == 2
        assert (events[0]["target_type"], events[0]["target_id"]) == ("voice", voice_id)
        assert events[0]["details"]["blocked_voice_id"] == entry["id"]

        # Off the list, the speaker clones again.
        assert (await root.delete(f"{BLOCKED}/{entry['id']}")).status_code == 204
        assert (await root.delete(f"{BLOCKED}/{entry['id']}")).status_code == 404
        cloned = await upload(client, "vctk_p225_008.wav")
        assert cloned.status_code == 201, cloned.text


async def test_an_existing_voice_of_any_user_can_be_blocked(
    container: Container, client: httpx.AsyncClient, client_b: httpx.AsyncClient
) -> None:
    theirs = await create_voice(client, "Narrator", "ljspeech_LJ001-0001.wav")
    async with await admin_client(container) as root:
        r = await root.post(
            f"{BLOCKED}/from-voice", json={"voice_id": theirs["id"], "label": "The narrator"}
        )
        assert r.status_code == 201, r.text
        entry = r.json()
        assert entry["source"] == "voice" and entry["source_voice_id"] == theirs["id"]
        assert entry["source_sha256"] is None
        twice = await root.post(
            f"{BLOCKED}/from-voice", json={"voice_id": theirs["id"], "label": "Again"}
        )
        assert twice.status_code == 409, twice.text
        missing = await root.post(
            f"{BLOCKED}/from-voice",
            json={"voice_id": "00000000-0000-4000-8000-000000000000", "label": "Nobody"},
        )
        assert (missing.status_code, missing.json()["code"]) == (404, "voice_not_found")
        before = await stored(container)
        # Another user, another recording of that speaker.
        refused = await upload(client_b, "ljspeech_LJ001-0005.wav")
        assert_refused_blindly(refused, entry)
        assert await stored(container) == before
        assert len(await refusals(root)) == 1
        # The blocked voice itself is left as it was.
        assert (await client.get(f"/api/v1/voices/{theirs['id']}")).status_code == 200


async def test_each_reference_is_checked_through_every_face(
    container: Container, client: httpx.AsyncClient
) -> None:
    """ElevenLabs' add voice, with the blocked speaker hidden among another speaker's
    recordings: one matching reference refuses the whole voice."""
    async with await admin_client(container) as root:
        entry = await block_recording(root, "vctk_p225_003.wav", "Speaker P225")
        before = await stored(container)
        files = [
            ("files", speech_file("vctk_p227_003.wav")),
            ("files", speech_file("vctk_p227_005.wav")),
            ("files", speech_file("vctk_p225_008.wav")),
        ]
        r = await client.post("/v1/voices/add", files=files, data={"name": "Mixed"})
        assert r.status_code == 403, r.text
        assert r.json()["detail"]["status"] == "voice_blocked"
        assert entry["label"] not in r.text and entry["id"] not in r.text
        assert await stored(container) == before
        assert [e["details"]["blocked_voice_id"] for e in await refusals(root)] == [entry["id"]]


async def test_without_consent_the_list_is_not_consulted(
    container: Container, client: httpx.AsyncClient
) -> None:
    """An upload without consent is refused for that, blocked speaker or not: answering
    voice_blocked would let anyone probe who is on the list without ever consenting."""
    stranger = await make_user(container, "stranger@example.com", standing_consent=False)
    async with await admin_client(container) as root, client_for(container, stranger) as xi:
        await block_recording(root, "vctk_p225_003.wav", "Speaker P225")
        before = await stored(container)
        fname, data = speech_file("vctk_p225_008.wav")
        r = await client.post("/api/v1/voices", files={"file": (fname, data)}, data={"name": "M"})
        assert (r.status_code, r.json()["code"]) == (422, "consent_required"), r.text
        # A face without a consent field, and no standing attestation on record.
        r = await xi.post("/v1/voices/add", files={"files": (fname, data)}, data={"name": "M"})
        assert r.status_code == 403, r.text
        assert r.json()["detail"]["status"] == "consent_required"
        assert await stored(container) == before
        assert await refusals(root) == []


async def test_only_admins_see_or_change_the_list(
    container: Container, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    mine = await create_voice(client, "Ana", "vctk_p228_003.wav")
    some_id = "00000000-0000-4000-8000-000000000000"
    attempts = [
        ("POST", BLOCKED, {"files": {"file": speech_file("vctk_p228_003.wav")}}),
        ("POST", f"{BLOCKED}/from-voice", {"json": {"voice_id": mine["id"], "label": "Me"}}),
        ("GET", BLOCKED, {}),
        ("DELETE", f"{BLOCKED}/{some_id}", {}),
    ]
    for method, url, kwargs in attempts:
        extra = {"data": {"label": "Me"}} if "files" in kwargs else {}
        r = await client.request(method, url, **kwargs, **extra)
        assert (r.status_code, r.json()["code"]) == (403, "forbidden"), (method, url, r.text)
        r = await anon.request(method, url, **kwargs, **extra)
        assert r.status_code == 401, (method, url, r.text)
    assert (await stored(container))["blocked_voices"] == 0


async def test_the_list_pages_newest_first_and_admin_changes_are_audited(
    container: Container,
) -> None:
    async with await admin_client(container) as root:
        files = ["vctk_p228_003.wav", "cmuarctic_clb_arctic_a0022.wav", "vctk_p227_005.wav"]
        made = [await block_recording(root, f, f"Person {n}") for n, f in enumerate(files)]
        first = (await root.get(BLOCKED, params={"limit": 2})).json()
        assert [e["id"] for e in first["items"]] == [made[2]["id"], made[1]["id"]]
        second = await root.get(BLOCKED, params={"limit": 2, "cursor": first["next_cursor"]})
        assert [e["id"] for e in second.json()["items"]] == [made[0]["id"]]
        assert second.json()["next_cursor"] is None
        bad = await root.get(BLOCKED, params={"cursor": "not-a-cursor"})
        assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")
        assert "embedding" not in first["items"][0]

        assert (await root.delete(f"{BLOCKED}/{made[1]['id']}")).status_code == 204
        unknown = await root.delete(f"{BLOCKED}/no-such-entry")
        assert (unknown.status_code, unknown.json()["code"]) == (404, "blocked_voice_not_found")
        listed = (await root.get(BLOCKED)).json()["items"]
        assert [e["id"] for e in listed] == [made[2]["id"], made[0]["id"]]

        events = (
            await root.get(AUDIT, params={"target_type": "blocked_voice", "limit": 500})
        ).json()["items"]
        actions = [(e["action"], e["target_id"], e["outcome"]) for e in events]
        assert actions == [
            ("blocked_voice_removed", made[1]["id"], "ok"),
            *[("blocked_voice_added", m["id"], "ok") for m in reversed(made)],
        ]
        assert {e["actor_id"] for e in events} == {made[0]["created_by"]}
        assert events[0]["details"]["label"] == "Person 1"


async def test_a_recording_without_speech_blocks_nothing(container: Container) -> None:
    async with await admin_client(container) as root:
        before = await stored(container)
        silence = (ODD / "silence_digital_silence.wav").read_bytes()
        r = await root.post(
            BLOCKED, files={"file": ("silence.wav", silence)}, data={"label": "Nobody"}
        )
        assert (r.status_code, r.json()["code"]) == (422, "not_enough_speech")
        blank = await root.post(
            BLOCKED, files={"file": speech_file("vctk_p228_003.wav")}, data={"label": "   "}
        )
        assert blank.status_code == 422, blank.text
        assert await stored(container) == before


def test_the_closest_entry_over_the_threshold_is_the_match() -> None:
    rng = np.random.default_rng(15)
    entries = rng.standard_normal((300, 256)).astype(np.float32)
    entries /= np.linalg.norm(entries, axis=1, keepdims=True)
    rows = [(f"entry-{i}", embedding_to_npy(e)) for i, e in enumerate(entries)]
    # A probe near entry 123 (cosine about 0.95), and one unlike every entry.
    near = entries[123] + 0.33 * rng.standard_normal(256).astype(np.float32) / 16
    stranger = rng.standard_normal(256).astype(np.float32)
    match = closest_blocked(rows, [stranger, near])
    assert match is not None and match.blocked_voice_id == "entry-123"
    assert match.similarity >= BLOCK_THRESHOLD
    assert closest_blocked(rows, [stranger]) is None
    assert closest_blocked([], [near]) is None
