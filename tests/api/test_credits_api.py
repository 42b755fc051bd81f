"""Credits through the API: sign-up grant, charging speech and clones, the balance and ledger
views, estimates, admin grants, and refusals that store nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.conftest import (
    Account,
    client_for,
    counts,
    make_user,
    speech_file,
)
from tests.api.credits_helpers import (
    BreakableEngine,
    assert_exact,
    balance,
    entries,
    priced_container,
)
from tests.api.identity import AUD, ISS, Provider, serve_provider
from voxhub.accounts import api_keys
from voxhub.accounts import service as accounts
from voxhub.accounts.models import Role
from voxhub.accounts.oidc import OidcVerifier
from voxhub.accounts.principal import Principal
from voxhub.audit.models import AuditEvent
from voxhub.bootstrap import close_container
from voxhub.container import Container
from voxhub.jobs.models import Job
from voxhub.settings import CreditSettings
from voxhub.synthesis.models import Generation

PRICES = CreditSettings(price_speech_per_1k_chars=2, price_clone=5, price_video=7, price_llm_call=0)
TEXT_1000 = "ab " * 333 + "a"  # exactly 1,000 characters when spoken
TEXT_1001 = "ab " * 333 + "ab"


@pytest.fixture
def fake_engine() -> BreakableEngine:
    return BreakableEngine()


@pytest.fixture
async def container(
    tmp_path: Path, database_url: str, speaker_encoder: object, fake_engine: BreakableEngine
) -> AsyncIterator[Container]:
    c = await priced_container(tmp_path, database_url, speaker_encoder, fake_engine, PRICES)
    yield c
    await close_container(c)


async def _voice(client: httpx.AsyncClient, **data: str) -> dict:
    fname, audio = speech_file()
    r = await client.post(
        "/api/v1/voices",
        files={"file": (fname, audio)},
        data={"name": "Ana", "consent": "self", **data},
    )
    assert r.status_code == 201, r.text
    return r.json()


def _kinds(rows: list, op_id: str) -> list[tuple[str, int]]:
    return [(e.kind, e.amount) for e in rows if e.job_id == op_id]


async def test_signup_grants_its_credits_through_the_ledger(container: Container) -> None:
    async with client_for(container, None) as anon:
        r = await anon.post(
            "/api/signup",
            json={"name": "Zoe", "email": "zoe@example.com", "password": "a long pass phrase 1"},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["user"]["tokens"] == 20  # TOKENS_TO_GIVE, seed 001's shape
        token = body["token"]
        r = await anon.get("/api/v1/credits", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["balance"] == 20 and view["held"] == 0 and view["holds"] == []
    assert [(e["kind"], e["amount"], e["reason"]) for e in view["recent"]] == [
        ("grant", 20, "signup")
    ]
    await assert_exact(container, body["user"]["id"])


async def test_sync_speech_is_charged_once_and_a_cache_hit_is_free(
    container: Container, client: httpx.AsyncClient, user_a: Account
) -> None:
    v = await _voice(client)
    assert await balance(container, user_a.id) == 100 - 5  # the clone
    body = {"voice_id": v["id"], "text": TEXT_1001}
    r = await client.post("/api/v1/speech", json=body)
    assert r.status_code == 200, r.text
    gen_id = r.headers["X-Voxhub-Generation-Id"]
    assert await balance(container, user_a.id) == 95 - 4  # 1,001 spoken characters: 2 x 2
    assert _kinds(await entries(container, user_a.id), gen_id) == [
        ("hold", -4),
        ("capture", 0),
    ]
    again = await client.post("/api/v1/speech", json=body)
    assert again.status_code == 200 and again.headers["X-Voxhub-Cache"] == "hit"
    assert await balance(container, user_a.id) == 91
    me = await client.get("/api/me")
    assert me.json()["tokens"] == 91  # seed 001's `tokens` is the balance
    await assert_exact(container, user_a.id)


async def test_sync_speech_is_not_charged_when_rendering_fails(
    container: Container,
    client: httpx.AsyncClient,
    user_a: Account,
    fake_engine: BreakableEngine,
) -> None:
    v = await _voice(client)
    before = await balance(container, user_a.id)
    fake_engine.broken = True
    r = await client.post("/api/v1/speech", json={"voice_id": v["id"], "text": "One. Two."})
    assert r.status_code == 500 and r.json()["code"] == "engine_failure", r.text
    assert await balance(container, user_a.id) == before
    moves = [(e.kind, e.amount) for e in await entries(container, user_a.id)][-2:]
    assert moves == [("hold", -2), ("release", 2)]
    async with container.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Generation)) == 0
    await assert_exact(container, user_a.id)


async def test_a_stream_is_paid_when_it_ends_and_released_when_it_breaks(
    container: Container,
    client: httpx.AsyncClient,
    user_a: Account,
    fake_engine: BreakableEngine,
) -> None:
    v = await _voice(client)
    body = {"voice_id": v["id"], "text": "One. Two. Three.", "stream": True}
    r = await client.post("/api/v1/speech", json=body)
    assert r.status_code == 200 and r.content
    assert await balance(container, user_a.id) == 95 - 2
    fake_engine.broken = True
    with pytest.raises(RuntimeError, match="response already started"):  # dies mid-stream
        await client.post("/api/v1/speech", json=body | {"text": "Four. Five. Six."})
    assert await balance(container, user_a.id) == 93
    assert [(e.kind, e.amount) for e in await entries(container, user_a.id)][-4:] == [
        ("hold", -2),
        ("capture", 0),
        ("hold", -2),
        ("release", 2),
    ]
    await assert_exact(container, user_a.id)


async def test_a_stream_the_client_leaves_is_released(
    container: Container, user_a: Account, live_url: str, fake_engine: BreakableEngine
) -> None:
    async with client_for(container, user_a) as client:
        v = await _voice(client)
    fake_engine.chunk_delay = 0.2
    text = " ".join(["Say this sentence."] * 40)  # 759 spoken characters: 2 credits
    async with httpx.AsyncClient(base_url=live_url, headers=user_a.headers, timeout=30) as live:
        async with live.stream(
            "POST", "/api/v1/speech", json={"voice_id": v["id"], "text": text, "stream": True}
        ) as r:
            assert r.status_code == 200
            async for _ in r.aiter_bytes():
                break  # the client goes away after the first bytes
        assert await balance(container, user_a.id) == 95 - 2  # held while it runs
    for _ in range(100):
        if await balance(container, user_a.id) == 95:
            break
        await asyncio.sleep(0.1)
    assert await balance(container, user_a.id) == 95
    assert [e.kind for e in await entries(container, user_a.id)][-2:] == ["hold", "release"]
    await assert_exact(container, user_a.id)


async def test_a_refused_request_stores_nothing(
    container: Container, client: httpx.AsyncClient, user_a: Account
) -> None:
    shared = await _voice(client, visibility="public")
    async with container.sessions() as s:
        poor = await accounts.signup(s, "poor@example.com", "a long pass phrase 1", "Poor", 1)
        _, key = await api_keys.create_key(s, Principal(poor.id, Role.user, "test"), "t")
    before = await counts(container)
    async with container.sessions() as s:
        jobs_before = await s.scalar(select(func.count()).select_from(Job))
    speech = {"voice_id": shared["id"], "text": TEXT_1000}  # costs 2, the balance is 1
    fname, audio = speech_file()
    async with client_for(container, Account(poor.id, poor.email, "", key)) as poor_client:
        answers = [
            await poor_client.post("/api/v1/speech", json=speech),
            await poor_client.post("/api/v1/speech", json=speech | {"stream": True}),
            await poor_client.post("/api/v1/speech", json=speech | {"async": True}),
            await poor_client.post(
                "/api/v1/voices",
                files={"file": (fname, audio)},
                data={"name": "Mine", "consent": "self"},
            ),
        ]
    for r in answers:
        assert r.status_code == 402, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert problem["code"] == "insufficient_credits"
        assert problem["balance"] == 1 and problem["cost"] in (2, 5)
    assert await counts(container) == before
    async with container.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Job)) == jobs_before
    assert [(e.kind, e.amount) for e in await entries(container, poor.id)] == [("grant", 1)]
    assert await balance(container, poor.id) == 1


async def test_every_move_keeps_the_balance_equal_to_its_ledger(
    container: Container,
    client: httpx.AsyncClient,
    user_a: Account,
    fake_engine: BreakableEngine,
) -> None:
    admin = await make_user(container, "root@example.com", Role.admin)
    await assert_exact(container, user_a.id, admin.id)
    v = await _voice(client)  # a charge
    await assert_exact(container, user_a.id)
    r = await client.post("/api/v1/speech", json={"voice_id": v["id"], "text": "Hi."})
    assert r.status_code == 200  # hold + capture
    await assert_exact(container, user_a.id)
    r = await client.post(
        "/api/v1/speech", json={"voice_id": v["id"], "text": "Job.", "async": True}
    )
    assert r.status_code == 202, r.text
    await asyncio.wait_for(container.jobs.wait_idle(), 60)  # hold + capture by the job's end
    await assert_exact(container, user_a.id)
    fake_engine.broken = True
    r = await client.post(
        "/api/v1/speech", json={"voice_id": v["id"], "text": "Fails. Here.", "async": True}
    )
    assert r.status_code == 202, r.text
    await asyncio.wait_for(container.jobs.wait_idle(), 60)  # hold + release by the job's end
    async with container.sessions() as s:
        statuses = sorted(
            (await s.scalars(select(Job.status).where(Job.kind == "speech.synthesize"))).all()
        )
    assert statuses == ["failed", "succeeded"]
    await assert_exact(container, user_a.id)
    async with client_for(container, admin) as root:
        r = await root.post(
            "/api/v1/admin/credits", json={"user_id": user_a.id, "amount": 7, "reason": "gift"}
        )
        assert r.status_code == 200, r.text
    await assert_exact(container, user_a.id)
    kinds = [e.kind for e in await entries(container, user_a.id)]
    assert kinds == [
        "grant", "charge", "hold", "capture", "hold", "capture", "hold", "release", "grant"
    ]  # fmt: skip
    assert await balance(container, user_a.id) == 100 - 5 - 2 - 2 + 7


async def test_admin_grants_and_corrections(
    container: Container, client: httpx.AsyncClient, user_a: Account
) -> None:
    admin = await make_user(container, "root@example.com", Role.admin)
    body = {"user_id": user_a.id, "amount": 50, "reason": "support ticket 12"}
    r = await client.post("/api/v1/admin/credits", json=body)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    async with client_for(container, admin) as root:
        r = await root.post("/api/v1/admin/credits", json=body)
        assert r.status_code == 200, r.text
        granted = r.json()
        assert granted["balance"] == 150
        assert granted["entry"]["kind"] == "grant" and granted["entry"]["amount"] == 50
        r = await root.post("/api/v1/admin/credits", json=body | {"amount": -151})
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "balance_would_go_negative" and r.json()["balance"] == 150
        r = await root.post("/api/v1/admin/credits", json=body | {"amount": -150})
        assert r.status_code == 200 and r.json()["balance"] == 0
        r = await root.post("/api/v1/admin/credits", json=body | {"amount": 0})
        assert r.status_code == 422
        unknown = body | {"user_id": "00000000-0000-4000-8000-000000000000"}
        r = await root.post("/api/v1/admin/credits", json=unknown)
        assert r.status_code == 404 and r.json()["code"] == "user_not_found"
    async with container.sessions() as s:
        events = list(
            await s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.in_(["credits_granted", "credits_corrected"]))
                .order_by(AuditEvent.created_at)
            )
        )
    assert [(e.action, e.actor_id, e.target_id, e.details["amount"]) for e in events] == [
        ("credits_granted", admin.id, user_a.id, 50),
        ("credits_corrected", admin.id, user_a.id, -150),
    ]
    assert await balance(container, user_a.id) == 0
    await assert_exact(container, user_a.id)


async def test_credits_view_shows_holds_and_the_ledger_pages(
    container: Container, client: httpx.AsyncClient, user_a: Account
) -> None:
    from voxhub.credits import ledger

    await ledger.reserve(container.sessions, user_a.id, "op-in-flight", 3, "speech")
    view = (await client.get("/api/v1/credits")).json()
    assert view["balance"] == 97 and view["held"] == 3
    assert [(h["job_id"], h["amount"]) for h in view["holds"]] == [("op-in-flight", 3)]
    for i in range(4):
        await ledger.reserve(container.sessions, user_a.id, f"op-{i}", 1, "speech")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/credits/ledger", params=params)).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [e.id for e in reversed(await entries(container, user_a.id))]
    assert len(seen) == 6
    r = await client.get("/api/v1/credits/ledger", params={"cursor": "nonsense"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_cursor"


async def test_estimate_prices_every_operation_from_settings(
    client: httpx.AsyncClient, user_a: Account
) -> None:
    v = await _voice(client)
    r = await client.post(
        "/api/v1/credits/estimate",
        json={"speech": {"voice_id": v["id"], "text": TEXT_1000}, "clones": 2, "videos": 3,
              "llm_calls": 4},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    est = r.json()
    assert [(i["operation"], i["quantity"], i["cost"]) for i in est["items"]] == [
        ("speech", 1000, 2),
        ("clone", 2, 10),
        ("video", 3, 21),
        ("llm_call", 4, 0),  # a price of 0 disables the charge
    ]
    assert est["total"] == 33 and est["balance"] == 95 and est["affordable"] is True
    assert est["prices"] == {"speech_per_1k_chars": 2, "clone": 5, "video": 7, "llm_call": 0}
    spoken = await client.post(
        "/api/v1/credits/estimate",
        json={"speech": {"voice_id": v["id"], "text": "I have 5000 apples"}},
    )
    # Digits are priced as they are read (and as the text limit counts them).
    assert spoken.json()["items"][0]["quantity"] == len("I have five thousand apples")
    more = {"speech": {"voice_id": v["id"], "text": TEXT_1001}}
    assert (await client.post("/api/v1/credits/estimate", json=more)).json()["total"] == 4
    missing = {"speech": {"voice_id": "00000000-0000-4000-8000-000000000000", "text": "Hi"}}
    r = await client.post("/api/v1/credits/estimate", json=missing)
    assert r.status_code == 404 and r.json()["code"] == "voice_not_found"
    r = await client.post("/api/v1/credits/estimate", json={})
    assert r.status_code == 200 and r.json()["total"] == 0 and r.json()["items"] == []
    long = {"speech": {"voice_id": v["id"], "text": "word " * 2000}}
    r = await client.post("/api/v1/credits/estimate", json=long)
    assert r.status_code == 413 and r.json()["code"] == "text_too_long"
    r = await client.post(
        "/api/v1/credits/estimate", json={"speech": long["speech"] | {"async": True}}
    )
    assert r.status_code == 200 and r.json()["total"] == 2 * 10
    assert await balance_unchanged(client, 95)


async def balance_unchanged(client: httpx.AsyncClient, expected: int) -> bool:
    return (await client.get("/api/v1/credits")).json()["balance"] == expected


async def test_a_queued_job_holds_its_price_and_captures_it_once(
    container: Container, client: httpx.AsyncClient, user_a: Account
) -> None:
    v = await _voice(client)
    r = await client.post(
        "/api/v1/speech", json={"voice_id": v["id"], "text": TEXT_1001, "async": True}
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    await asyncio.wait_for(container.jobs.wait_idle(), 60)
    assert _kinds(await entries(container, user_a.id), job_id) == [("hold", -4), ("capture", 0)]
    assert await balance(container, user_a.id) == 95 - 4
    async with container.sessions() as s:
        job = await s.get(Job, job_id)
        assert job is not None and job.status == "succeeded" and job.cost == 4


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with serve_provider() as p:
        yield p


async def test_an_oidc_first_sign_in_grants_through_the_ledger(
    container: Container, anon: httpx.AsyncClient, provider: Provider
) -> None:
    container.extras["oidc"] = OidcVerifier(provider.jwks_url, ISS, AUD)
    headers = {"Authorization": f"Bearer {provider.token('uid-9', email='ext@example.com')}"}
    r = await anon.post("/api/v1/api-keys", headers=headers, json={})  # a request that commits
    assert r.status_code == 201, r.text
    view = (await anon.get("/api/v1/credits", headers=headers)).json()
    assert view["balance"] == 20
    assert [(e["kind"], e["amount"], e["reason"]) for e in view["recent"]] == [
        ("grant", 20, "signup")
    ]
