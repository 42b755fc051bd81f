"""Pronunciation dictionaries over HTTP, and `<break>` pauses, with the fake engine."""

# IPA letters that look like ASCII ones are these tests' subject, not typos.
# ruff: noqa: RUF001

from __future__ import annotations

import io
import wave

import numpy as np
from sqlalchemy import func, select

from tests.api.conftest import counts, create_voice
from voxhub.audit.models import AuditEvent
from voxhub.container import Container
from voxhub.engines.fake import RATE, WORD_SECONDS

BASE = "/api/v1/pronunciation-dictionaries"
SQL = {"type": "alias", "string_to_replace": "SQL", "alias": "sequel"}
CAT = {"type": "phoneme", "string_to_replace": "cat", "phoneme": "dɔɡ"}


async def make_dictionary(client, *rules: dict, name: str = "Tech") -> dict:
    r = await client.post(BASE, json={"name": name, "rules": list(rules)})
    assert r.status_code == 201, r.text
    return r.json()


def seconds_of(wav_bytes: bytes) -> float:
    with wave.open(io.BytesIO(wav_bytes)) as f:
        return f.getnframes() / f.getframerate()


async def test_a_dictionary_is_created_changed_and_deleted(client, container: Container) -> None:
    d = await make_dictionary(client, SQL, CAT)
    assert d["version"] == 1
    assert [rule["string_to_replace"] for rule in d["rules"]] == ["SQL", "cat"]
    assert d["rules"][1] == CAT | {"alphabet": "ipa", "case_sensitive": True}

    new_sql = {"type": "alias", "string_to_replace": "SQL", "alias": "ess queue ell"}
    r = await client.post(f"{BASE}/{d['id']}/add-rules", json={"rules": [new_sql]})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert r.json()["rules"][0]["alias"] == "ess queue ell"  # replaced in its place
    assert len(r.json()["rules"]) == 2

    r = await client.post(f"{BASE}/{d['id']}/remove-rules", json={"rule_strings": ["cat"]})
    assert (r.json()["version"], [x["string_to_replace"] for x in r.json()["rules"]]) == (
        3,
        ["SQL"],
    )

    r = await client.patch(f"{BASE}/{d['id']}", json={"name": "Databases"})
    assert (r.json()["name"], r.json()["version"]) == ("Databases", 3)
    listed = (await client.get(BASE)).json()["items"]
    assert [x["id"] for x in listed] == [d["id"]]

    assert (await client.delete(f"{BASE}/{d['id']}")).status_code == 204
    r = await client.get(f"{BASE}/{d['id']}")
    assert (r.status_code, r.json()["code"]) == (404, "pronunciation_dictionary_not_found")
    async with container.sessions() as s:
        actions = (await s.scalars(select(AuditEvent.action).order_by(AuditEvent.created_at))).all()
    assert [a for a in actions if "pronunciation" in a] == [
        "pronunciation_dictionary_created",
        "pronunciation_rules_added",
        "pronunciation_rules_removed",
        "pronunciation_dictionary_deleted",
    ]


async def test_another_users_dictionary_is_not_found(client, client_b) -> None:
    d = await make_dictionary(client, SQL)
    for r in (
        await client_b.get(f"{BASE}/{d['id']}"),
        await client_b.post(f"{BASE}/{d['id']}/add-rules", json={"rules": [SQL]}),
        await client_b.delete(f"{BASE}/{d['id']}"),
    ):
        assert (r.status_code, r.json()["code"]) == (404, "pronunciation_dictionary_not_found")
    assert (await client_b.get(BASE)).json()["items"] == []
    vid = (await create_voice(client_b))["id"]
    r = await client_b.post(
        "/api/v1/speech",
        json={"voice_id": vid, "text": "SQL", "pronunciation_dictionary_ids": [d["id"]]},
    )
    assert (r.status_code, r.json()["code"]) == (404, "pronunciation_dictionary_not_found")


async def test_bad_rules_are_refused_and_nothing_is_stored(client, container: Container) -> None:
    bad = {"type": "phoneme", "string_to_replace": "cat", "phoneme": "d0g"}
    r = await client.post(BASE, json={"name": "x", "rules": [SQL, bad]})
    assert r.status_code == 422
    assert r.json()["code"] == "validation_error"
    assert "phoneme is IPA" in r.text
    assert (await client.get(BASE)).json()["items"] == []
    d = await make_dictionary(client, SQL)
    r = await client.post(f"{BASE}/{d['id']}/add-rules", json={"rules": [bad]})
    assert r.status_code == 422
    assert (await client.get(f"{BASE}/{d['id']}")).json()["version"] == 1


async def test_an_alias_changes_what_is_said(client) -> None:
    vid = (await create_voice(client))["id"]
    d = await make_dictionary(client, SQL)
    r = await client.post(
        "/api/v1/speech",
        json={"voice_id": vid, "text": "I like SQL.", "pronunciation_dictionary_ids": [d["id"]]},
    )
    assert r.status_code == 200, r.text
    gen = (await client.get(f"/api/v1/generations/{r.headers['x-voxhub-generation-id']}")).json()
    assert gen["text"] == "I like sequel."
    words = (await client.get(f"/api/v1/generations/{gen['id']}/timings")).json()["words"]
    assert [w["word"] for w in words] == ["I", "like", "sequel."]


async def test_phoneme_rules_are_refused_by_an_engine_without_phonemes(
    client, container: Container
) -> None:
    vid = (await create_voice(client))["id"]
    d = await make_dictionary(client, CAT)
    before = await counts(container)
    body = {"voice_id": vid, "text": "My cat.", "pronunciation_dictionary_ids": [d["id"]]}
    for extra in ({}, {"stream": True}, {"async": True}):
        r = await client.post("/api/v1/speech", json=body | extra)
        assert (r.status_code, r.json()["code"]) == (422, "phonemes_unsupported"), extra
        assert "'cat'" in r.json()["detail"]
    assert await counts(container) == before
    # A text that does not use the rule is spoken as usual.
    r = await client.post("/api/v1/speech", json=body | {"text": "My dog."})
    assert r.status_code == 200, r.text


async def test_a_break_is_silence_of_that_length(client) -> None:
    vid = (await create_voice(client))["id"]
    r = await client.post(
        "/api/v1/speech",
        json={"voice_id": vid, "text": 'One two. <break time="1.5s"/> Three.', "format": "wav"},
    )
    assert r.status_code == 200, r.text
    assert abs(seconds_of(r.content) - (3 * WORD_SECONDS + 1.5)) < 0.01
    with wave.open(io.BytesIO(r.content)) as f:
        pcm = np.frombuffer(f.readframes(f.getnframes()), np.int16)
    gap = pcm[int(2 * WORD_SECONDS * RATE) : int((2 * WORD_SECONDS + 1.5) * RATE)]
    assert np.abs(gap).max() == 0
    gen_id = r.headers["x-voxhub-generation-id"]
    words = (await client.get(f"/api/v1/generations/{gen_id}/timings")).json()["words"]
    assert words[2]["word"] == "Three."
    assert abs(words[2]["start"] - (2 * WORD_SECONDS + 1.5)) < 0.01
    gen = (await client.get(f"/api/v1/generations/{gen_id}")).json()
    assert gen["text"] == 'One two. <break time="1500ms"/> Three.'


async def test_a_stream_carries_its_breaks_too(client) -> None:
    vid = (await create_voice(client))["id"]
    body = {"voice_id": vid, "text": 'One. <break time="500ms"/> Two.', "format": "pcm"}
    r = await client.post("/api/v1/speech", json=body | {"stream": True})
    assert r.status_code == 200, r.text
    assert abs(len(r.content) / 2 / RATE - (2 * WORD_SECONDS + 0.5)) < 0.01


async def test_the_same_pause_written_two_ways_is_one_cache_entry(client) -> None:
    vid = (await create_voice(client))["id"]
    first = await client.post(
        "/api/v1/speech", json={"voice_id": vid, "text": 'A. <break time="0.5s"/> B.'}
    )
    second = await client.post(
        "/api/v1/speech", json={"voice_id": vid, "text": "A.<BREAK time='500ms' />B."}
    )
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.headers["x-voxhub-cache"] == "hit"


async def test_bad_breaks_are_refused_and_nothing_is_stored(client, container: Container) -> None:
    vid = (await create_voice(client))["id"]
    before = await counts(container)
    for text, says in (
        ('Wait <break time="9s"/> now.', "up to 5 s"),
        ('Wait <break time="soon"/> now.', "milliseconds or seconds"),
        ('<break time="1s"/>', "nothing that can be spoken"),
    ):
        for extra in ({}, {"stream": True}, {"async": True}):
            r = await client.post("/api/v1/speech", json={"voice_id": vid, "text": text} | extra)
            assert r.status_code == 422, (text, extra)
            assert says in r.json()["detail"], r.json()
    assert await counts(container) == before
    async with container.sessions() as s:
        from voxhub.jobs.models import Job

        assert await s.scalar(select(func.count()).select_from(Job)) == 0


async def test_json_takes_booleans_only_as_such(client) -> None:
    rule = SQL | {"case_sensitive": 0}
    r = await client.post(BASE, json={"name": "x", "rules": [rule]})
    assert (r.status_code, r.json()["code"]) == (422, "validation_error")


async def test_versions_hold_a_request_and_a_job_to_the_rules_they_were_checked_with(
    client, container: Container
) -> None:
    vid = (await create_voice(client))["id"]
    d = await make_dictionary(client, SQL)
    body = {"voice_id": vid, "text": "I like SQL.", "pronunciation_dictionary_ids": [d["id"]]}
    held = body | {"pronunciation_dictionary_versions": {d["id"]: 1}}
    assert (await client.post("/api/v1/speech", json=held)).status_code == 200
    queued = await client.post("/api/v1/speech", json=body | {"async": True})
    assert queued.status_code == 202
    r = await client.post(f"{BASE}/{d['id']}/add-rules", json={"rules": [CAT]})
    assert r.json()["version"] == 2
    stale = await client.post("/api/v1/speech", json=held)
    assert (stale.status_code, stale.json()["code"]) == (
        409,
        "pronunciation_dictionary_version_conflict",
    )
    # The job carries the versions it was priced with (run after a change, it is refused).
    async with container.sessions() as s:
        from voxhub.jobs.models import Job

        row = await s.get(Job, queued.json()["id"])
        assert row is not None
        assert row.payload["pronunciation_dictionary_versions"] == {d["id"]: 1}


async def test_concurrent_changes_lose_no_rule(client) -> None:
    import asyncio

    d = await make_dictionary(client, SQL)
    rules = [{"type": "alias", "string_to_replace": f"w{n}", "alias": f"x{n}"} for n in range(6)]
    answers = await asyncio.gather(
        *(client.post(f"{BASE}/{d['id']}/add-rules", json={"rules": [rule]}) for rule in rules)
    )
    done = [r for r in answers if r.status_code == 200]
    refused = [r for r in answers if r.status_code != 200]
    # A change that lost the race is told so, the one way: 409 with the conflict's code.
    assert all(
        (r.status_code, r.json()["code"]) == (409, "pronunciation_dictionary_version_conflict")
        for r in refused
    )
    assert len({r.json()["version"] for r in done}) == len(done)  # each change its own version
    final = (await client.get(f"{BASE}/{d['id']}")).json()
    assert final["version"] == 1 + len(done)
    assert len(final["rules"]) == 1 + len(done)  # every accepted change is there
