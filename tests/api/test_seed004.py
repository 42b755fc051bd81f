"""Seed 004's API: HMAC-signed internal calls, the voice library, Firebase Auth and App Check."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import io
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from pydantic import SecretStr
from sqlalchemy import select

from tests.api.conftest import (
    Account,
    client_for,
    counts,
    create_voice,
    make_user,
    service_attests,
    speech_file,
)
from voxhub.accounts.models import Role
from voxhub.accounts.oidc import OidcVerifier
from voxhub.container import Container
from voxhub.jobs.models import Job
from voxhub.voices.models import Voice

SECRET = "shared-secret-for-tests-0123456789"
OLD_SECRET = "previous-secret-for-tests-987654321"

# Seed 004's curl example, verbatim: the body template and the signing snippet.
SEED_BODY = (
    '{"name":"voice_test","audio_data":"<base64>","audio_format":"wav",'
    '"language":"en","is_kids_voice":false,"model_type":"chatterbox"}'
)
SEED_SIGNER = """\
import hmac,hashlib,os,sys
secret=os.environ['DAEZEND_API_SHARED_SECRET']
method='POST'; path='/api/voices/clone'; ts=os.environ['TS']; body=os.environ['BODY'].encode()
msg=(method+'\\n'+path+'\\n'+ts+'\\n').encode()+body
print(hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest())
"""


def now_ms() -> str:
    """What `date +%s%3N` prints."""
    return str(time.time_ns() // 1_000_000)


def seed_body(file: str = "vctk_p225_003.wav") -> str:
    """The example's BODY with real base64 audio in place of `<base64>`."""
    _, data = speech_file(file)
    return SEED_BODY.replace("<base64>", base64.b64encode(data).decode())


def seed_signature(monkeypatch: pytest.MonkeyPatch, secret: str, ts: str, body: str) -> str:
    """Run the seed's Python snippet itself, with the variables it reads from the environment.

    In process: a real speech file's base64 is past the 128 KiB a single exec() argument may hold.
    """
    monkeypatch.setenv("DAEZEND_API_SHARED_SECRET", secret)
    monkeypatch.setenv("TS", ts)
    monkeypatch.setenv("BODY", body)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(SEED_SIGNER, {})
    return out.getvalue().strip()


def sign(secret: str, method: str, path: str, ts: str, body: bytes) -> str:
    msg = f"{method}\n{path}\n{ts}\n".encode() + body
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def signed_headers(
    body: bytes,
    *,
    path: str = "/api/voices/clone",
    secret: str = SECRET,
    ts: str | None = None,
    key: str | None = "key-1",
) -> dict[str, str]:
    ts = ts or now_ms()
    headers = {
        "Content-Type": "application/json",
        "X-Daezend-Timestamp": ts,
        "X-Daezend-Signature": sign(secret, "POST", path, ts, body),
    }
    if key is not None:
        headers["X-Idempotency-Key"] = key
    return headers


@pytest.fixture
async def admin(container: Container) -> Account:
    """The local admin that signed calls act as (the app records it at start-up)."""
    account = await make_user(container, "root@example.com", Role.admin)
    container.extras["local_admin_id"] = account.id
    return account


@pytest.fixture
async def hmac_on(container: Container, admin: Account) -> Container:
    sec = container.settings.security
    sec.enable_hmac = True
    sec.hmac_secret = SecretStr(SECRET)
    await service_attests(container)
    return container


@pytest.fixture
async def internal(hmac_on: Container) -> AsyncIterator[httpx.AsyncClient]:
    """The main app: no credentials, only signatures."""
    async with client_for(hmac_on, None) as c:
        yield c


async def voices_in_db(c: Container) -> list[Voice]:
    async with c.sessions() as s:
        return list(await s.scalars(select(Voice)))


# --- HMAC -------------------------------------------------------------------------------------


async def test_seed_curl_example_byte_for_byte(
    internal: httpx.AsyncClient, hmac_on: Container, admin: Account, monkeypatch
) -> None:
    body = seed_body()
    ts = now_ms()
    sig = seed_signature(monkeypatch, SECRET, ts, body)
    r = await internal.post(
        "/api/voices/clone",
        content=body.encode(),
        headers={
            "Content-Type": "application/json",
            "X-Daezend-Timestamp": ts,
            "X-Daezend-Signature": sig,
            "X-Idempotency-Key": "test-voice-1",
        },
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "success" and out["name"] == "voice_test"
    assert out["language"] == "en" and out["is_kids_voice"] is False
    assert out["model_type"] == "chatterbox"
    assert out["sample_file"].endswith(f"/api/v1/voices/{out['voice_id']}/sample")
    assert out["embedding_file"].endswith(f"/api/v1/voices/{out['voice_id']}/profile")
    assert out["metadata"]["sample_rate_in"] == 16_000 and out["metadata"]["duration_s"] > 1
    [voice] = await voices_in_db(hmac_on)
    assert voice.id == out["voice_id"] and voice.owner_id == admin.id  # acted as the local admin


async def test_one_changed_byte_is_refused_and_stores_nothing(
    internal: httpx.AsyncClient, hmac_on: Container
) -> None:
    body = seed_body().encode()
    headers = signed_headers(body)
    i = body.index(b'"voice_test"') + 1
    tampered = body[:i] + b"V" + body[i + 1 :]  # "voice_test" -> "Voice_test"
    assert len(tampered) == len(body) and tampered != body
    r = await internal.post("/api/voices/clone", content=tampered, headers=headers)
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "invalid_signature"
    assert r.headers["www-authenticate"].startswith("HMAC-SHA256")
    assert await counts(hmac_on) == (0, 0)


@pytest.mark.parametrize("offset_s", [-301, 301])
async def test_timestamp_outside_300_s_is_refused(
    internal: httpx.AsyncClient, hmac_on: Container, offset_s: int, monkeypatch
) -> None:
    body = seed_body().encode()
    # The server's clock is held where the timestamp was made: on a loaded machine the request
    # can take over a second to reach the check, which would bring +301 s back inside the window.
    now_s = time.time()
    monkeypatch.setattr("voxhub.security.hmac.wall_clock_ms", lambda: int(now_s * 1000))
    ts = str(int(now_s * 1000) + offset_s * 1000)
    r = await internal.post("/api/voices/clone", content=body, headers=signed_headers(body, ts=ts))
    assert r.status_code == 401 and r.json()["code"] == "invalid_signature"
    assert await counts(hmac_on) == (0, 0)


async def test_timestamp_inside_the_window_is_accepted(internal: httpx.AsyncClient) -> None:
    body = seed_body().encode()
    ts = str(time.time_ns() // 1_000_000 - 295_000)
    r = await internal.post("/api/voices/clone", content=body, headers=signed_headers(body, ts=ts))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Daezend-Signature": sign("not-the-secret", "POST", "/api/voices/clone", "{ts}", b"")},
        {"X-Daezend-Signature": "zz" * 32},
        {"X-Daezend-Timestamp": "yesterday"},
        {"X-Daezend-Timestamp": ""},
    ],
    ids=["wrong-secret-empty-body", "not-hex", "bad-timestamp", "no-timestamp"],
)
async def test_malformed_signatures_are_refused(
    internal: httpx.AsyncClient, hmac_on: Container, headers: dict[str, str]
) -> None:
    body = seed_body().encode()
    sent = signed_headers(body) | headers
    r = await internal.post("/api/voices/clone", content=body, headers=sent)
    assert r.status_code == 401 and r.json()["code"] == "invalid_signature"
    assert await counts(hmac_on) == (0, 0)


async def test_wrong_secret_is_refused(internal: httpx.AsyncClient, hmac_on: Container) -> None:
    body = seed_body().encode()
    headers = signed_headers(body, secret="a-different-secret-of-same-size")
    r = await internal.post("/api/voices/clone", content=body, headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "invalid_signature"
    assert await counts(hmac_on) == (0, 0)


async def test_secret_rotation_window(internal: httpx.AsyncClient, hmac_on: Container) -> None:
    sec = hmac_on.settings.security
    body = seed_body().encode()
    # During rotation both are configured: calls signed with either one pass.
    sec.hmac_previous_secret = SecretStr(OLD_SECRET)
    for i, secret in enumerate([OLD_SECRET, SECRET]):
        headers = signed_headers(body, secret=secret, key=f"rot-{i}")
        r = await internal.post("/api/voices/clone", content=body, headers=headers)
        assert r.status_code == 200, r.text
    # Window closed: the old secret is gone from settings, and with it every call it signs.
    sec.hmac_previous_secret = None
    before = await counts(hmac_on)
    headers = signed_headers(body, secret=OLD_SECRET, key="rot-3")
    r = await internal.post("/api/voices/clone", content=body, headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "invalid_signature"
    assert await counts(hmac_on) == before


async def test_idempotency_key_is_required(internal: httpx.AsyncClient, hmac_on: Container) -> None:
    """A validly signed call without a usable key is a 400, as the IETF Idempotency-Key draft says.

    The signature is checked first, so an unsigned caller learns only "401", never which header
    it lacks; a signed caller is authenticated and gets the precise 400.
    """
    body = seed_body().encode()
    r = await internal.post(
        "/api/voices/clone", content=body, headers=signed_headers(body, key=None)
    )
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_required"
    for key in ("", "k" * 256):
        # The idempotency layer runs first and refuses a malformed key, even an empty one.
        r = await internal.post(
            "/api/voices/clone", content=body, headers=signed_headers(body, key=key)
        )
        assert r.status_code == 400, (key, r.text)
        assert r.json()["code"] == "idempotency_key_invalid", (key, r.text)
    bad = signed_headers(body, key=None, secret="wrong-secret")
    r = await internal.post("/api/voices/clone", content=body, headers=bad)
    assert r.status_code == 401
    ok = signed_headers(body, key="k" * 255)
    assert (await internal.post("/api/voices/clone", content=body, headers=ok)).status_code == 200
    assert len(await voices_in_db(hmac_on)) == 1


async def test_replayed_signed_call_returns_the_first_answer(
    internal: httpx.AsyncClient, hmac_on: Container
) -> None:
    """RELIABILITY recipe 10, answered by the idempotency layer in front of the signed routes."""
    body = seed_body().encode()
    headers = signed_headers(body, key="replay-1")
    first = await internal.post("/api/voices/clone", content=body, headers=headers)
    assert first.status_code == 200, first.text
    again = await internal.post("/api/voices/clone", content=body, headers=headers)
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(await voices_in_db(hmac_on)) == 1
    other = body.replace(b'"voice_test"', b'"voice_two"')
    r = await internal.post(
        "/api/voices/clone", content=other, headers=signed_headers(other, key="replay-1")
    )
    assert r.status_code == 422  # same key, different body
    assert len(await voices_in_db(hmac_on)) == 1


async def test_unsigned_replay_of_a_signed_call_is_refused(
    internal: httpx.AsyncClient, hmac_on: Container
) -> None:
    body = seed_body().encode()
    headers = signed_headers(body, key="replay-2")
    assert (await internal.post("/api/voices/clone", content=body, headers=headers)).is_success
    unsigned = {"Content-Type": "application/json", "X-Idempotency-Key": "replay-2"}
    r = await internal.post("/api/voices/clone", content=body, headers=unsigned)
    assert r.status_code == 401


async def test_signed_call_tells_middleware_what_it_is(
    internal: httpx.AsyncClient, hmac_on: Container
) -> None:
    from voxhub.app import create_app
    from voxhub.security.hmac import signed_call

    app = create_app(container=hmac_on)
    body = b'{"voice_id": "x", "text": "hi"}'

    def scope(path: str, headers: dict[str, str]) -> dict[str, Any]:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        return {
            "type": "http",
            "method": "POST",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": raw,
            "app": app,
        }

    good = signed_headers(body, path="/api/tts/generate")
    assert signed_call(scope("/api/tts/generate", good), body) is True
    assert signed_call(scope("/api/tts/generate", good), body + b" ") is False
    assert signed_call(scope("/api/tts/generate", {}), body) is False
    assert signed_call(scope("/api/v1/speech", good), body) is None  # not a signed route
    hmac_on.settings.security.enable_hmac = False
    assert signed_call(scope("/api/tts/generate", good), body) is None


async def test_signed_routes_refuse_unsigned_bearer_calls(
    hmac_on: Container, user_a: Account
) -> None:
    """With HMAC on these routes are internal-only: a user's own credentials are not enough."""
    async with client_for(hmac_on, user_a) as c:
        r = await c.post("/api/voices/clone", content=seed_body().encode())
    assert r.status_code == 401 and r.json()["code"] == "invalid_signature"
    assert await counts(hmac_on) == (0, 0)


async def test_body_user_id_picks_the_user_to_act_as(
    internal: httpx.AsyncClient, hmac_on: Container, user_a: Account, admin: Account
) -> None:
    base = json.loads(seed_body())
    for i, (user_id, owner) in enumerate([(user_a.id, user_a.id), ("user_123", admin.id)]):
        body = json.dumps({**base, "user_id": user_id, "name": f"v{i}"}).encode()
        r = await internal.post(
            "/api/voices/clone", content=body, headers=signed_headers(body, key=f"u{i}")
        )
        assert r.status_code == 200, r.text
        async with hmac_on.sessions() as s:
            voice = await s.get(Voice, r.json()["voice_id"])
        assert voice is not None and voice.owner_id == owner


async def test_bad_base64_is_422(internal: httpx.AsyncClient, hmac_on: Container) -> None:
    body = SEED_BODY.replace("<base64>", "not base64!").encode()
    r = await internal.post("/api/voices/clone", content=body, headers=signed_headers(body))
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    assert await counts(hmac_on) == (0, 0)


async def test_with_hmac_off_the_routes_need_a_signed_in_user(
    container: Container, anon: httpx.AsyncClient, client: httpx.AsyncClient, user_a: Account
) -> None:
    assert container.settings.security.enable_hmac is False
    body = seed_body().encode()
    r = await anon.post("/api/voices/clone", content=body, headers=signed_headers(body))
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    assert await counts(container) == (0, 0)
    r = await client.post(
        "/api/voices/clone", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 200, r.text
    [voice] = await voices_in_db(container)
    assert voice.owner_id == user_a.id


# --- TTS --------------------------------------------------------------------------------------


async def test_tts_generate_queues_a_job(
    internal: httpx.AsyncClient, hmac_on: Container, admin: Account
) -> None:
    async with client_for(hmac_on, admin) as admin_client:
        voice = await create_voice(admin_client)
        payload = {
            "user_id": "user_123",
            "story_id": "story_abc",
            "voice_id": voice["id"],
            "text": "Hello there",
            "profile_base64": "AAAA",
            "language": "en",
            "story_type": "user",
            "is_kids_voice": False,
            "model_type": "chatterbox",
        }
        body = json.dumps(payload).encode()
        headers = signed_headers(body, path="/api/tts/generate")
        r = await internal.post("/api/tts/generate", content=body, headers=headers)
        assert r.status_code == 202, r.text
        meta = r.json()["metadata"]
        assert r.json()["status"] == "queued"
        assert meta["story_id"] == "story_abc" and meta["voice_id"] == voice["id"]
        assert r.headers["location"] == f"/api/v1/jobs/{meta['job_id']}"
        async with asyncio.timeout(60):
            await hmac_on.jobs.wait_idle()
        job = (await admin_client.get(f"/api/v1/jobs/{meta['job_id']}")).json()
        assert job["status"] == "succeeded", job
        gens = (await admin_client.get("/api/tts/generations")).json()
        assert isinstance(gens, list) and len(gens) == 1
        assert gens[0]["id"] == job["result"]["generation_id"]
        assert gens[0]["audio_url"] == job["result"]["audio_url"]


async def test_tts_generate_refusals_queue_nothing(
    internal: httpx.AsyncClient, hmac_on: Container
) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    cases = [
        ({"voice_id": unknown, "text": "hi"}, 404),
        ({"voice_id": unknown, "text": "   "}, 422),
        ({"voice_id": unknown, "text": "hi", "surprise": 1}, 422),
    ]
    for payload, code in cases:
        body = json.dumps(payload).encode()
        headers = signed_headers(body, path="/api/tts/generate")
        r = await internal.post("/api/tts/generate", content=body, headers=headers)
        assert r.status_code == code, r.text
    # Signed for the clone path, sent to the TTS path: the path is part of what is signed.
    body = json.dumps({"voice_id": unknown, "text": "hi"}).encode()
    r = await internal.post("/api/tts/generate", content=body, headers=signed_headers(body))
    assert r.status_code == 401
    async with hmac_on.sessions() as s:
        assert list(await s.scalars(select(Job))) == []


# --- Client-callable routes -------------------------------------------------------------------


async def test_health_needs_no_credentials(anon: httpx.AsyncClient, container: Container) -> None:
    container.settings.security.enable_app_check = True  # even with every flag on
    container.settings.security.enable_firebase_auth = True
    r = await anon.get("/api/health/health")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"status", "service", "firebase_connected", "timestamp"}
    assert body["status"] == "healthy" and body["service"] == "voice-library-api"
    assert body["firebase_connected"] is False and "T" in body["timestamp"]


async def test_voice_library_shapes(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, container: Container
) -> None:
    assert (await anon.get("/api/voices")).status_code == 401
    ana = await create_voice(client, "Ana")
    r = await client.patch(
        f"/api/v1/voices/{ana['id']}", json={"language": "fr", "is_kids_voice": True}
    )
    assert r.status_code == 200, r.text
    other = await create_voice(client, "Other", "vctk_p227_003.wav")

    r = await client.get("/api/voices")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"status", "voices", "language", "is_kids_voice", "total"}
    assert body["status"] == "success" and body["total"] == 2
    assert body["language"] is None and body["is_kids_voice"] is None
    info = next(v for v in body["voices"] if v["voice_id"] == ana["id"])
    assert set(info) == {
        "voice_id",
        "name",
        "sample_file",
        "embedding_file",
        "created_date",
        "language",
        "is_kids_voice",
    }
    assert info["name"] == "Ana" and info["language"] == "fr" and info["is_kids_voice"] is True
    assert isinstance(info["created_date"], int)
    assert abs(info["created_date"] - time.time()) < 600
    sample = await client.get(info["sample_file"])
    assert sample.status_code == 200 and sample.headers["content-type"] == "audio/wav"
    assert (await client.get(info["embedding_file"])).json()["voice_id"] == ana["id"]

    kids = (await client.get("/api/voices", params={"is_kids_voice": "true"})).json()
    assert [v["voice_id"] for v in kids["voices"]] == [ana["id"]] and kids["is_kids_voice"]
    en = (await client.get("/api/voices/by-language/en")).json()
    assert en["language"] == "en" and [v["voice_id"] for v in en["voices"]] == [other["id"]]
    fr = (await client.get("/api/voices", params={"language": "fr"})).json()
    assert fr["total"] == 1 and fr["voices"][0]["voice_id"] == ana["id"]
    assert (await client.get("/api/voices/by-language/EN!")).status_code == 422

    profile = (await client.get(f"/api/voices/{ana['id']}/profile")).json()
    assert set(profile) == {"voice_id", "profile_base64"}
    assert base64.b64decode(profile["profile_base64"]).startswith(b"\x93NUMPY")
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await client.get(f"/api/voices/{unknown}/profile")).status_code == 404


async def test_library_shows_only_what_the_caller_may_see(
    client: httpx.AsyncClient, client_b: httpx.AsyncClient
) -> None:
    mine = await create_voice(client, "Ana")
    theirs = (await client_b.get("/api/voices")).json()
    assert theirs["total"] == 0
    assert (await client_b.get(f"/api/voices/{mine['id']}/profile")).status_code == 404
    assert (await client_b.get("/api/tts/generations")).json() == []


# --- Firebase Auth and App Check --------------------------------------------------------------


@dataclass
class Issuer:
    """An RSA key whose JWKS is served on loopback, to mint identity and App Check tokens."""

    jwks_url: str
    key: rsa.RSAPrivateKey

    def token(self, iss: str, aud: str, sub: str = "app-1", **extra: Any) -> str:
        now = int(time.time())
        claims = {"iss": iss, "aud": aud, "sub": sub, "iat": now, "exp": now + 300, **extra}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True) | {
        "kid": "k1",
        "alg": "RS256",
        "use": "sig",
    }
    jwks = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(jwks)))
            self.end_headers()
            self.wfile.write(jwks)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Issuer(f"http://127.0.0.1:{server.server_address[1]}/jwks.json", key)
    server.shutdown()
    server.server_close()
    thread.join()


APP_ISS = "https://firebaseappcheck.googleapis.com/123"
APP_AUD = "projects/123"


async def test_app_check_is_required_when_enabled(
    client: httpx.AsyncClient, container: Container, issuer: Issuer
) -> None:
    sec = container.settings.security
    sec.enable_app_check = True
    r = await client.get("/api/voices")
    assert r.status_code == 401 and r.json()["code"] == "app_check_required"  # not configured
    sec.app_check_jwks_url, sec.app_check_issuer, sec.app_check_audience = (
        issuer.jwks_url,
        APP_ISS,
        APP_AUD,
    )
    refusals = [
        None,
        "garbage",
        issuer.token(APP_ISS, "projects/other"),
        issuer.token("https://evil.example", APP_AUD),
        issuer.token(APP_ISS, APP_AUD, exp=int(time.time()) - 120),
    ]
    for token in refusals:
        headers = {"X-Firebase-AppCheck": token} if token else {}
        for path in ("/api/voices", "/api/voices/by-language/en", "/api/tts/generations"):
            r = await client.get(path, headers=headers)
            assert r.status_code == 401, (token, path, r.text)
            assert r.json()["code"] == "app_check_required"
    good = {"X-Firebase-AppCheck": issuer.token(APP_ISS, APP_AUD)}
    assert (await client.get("/api/voices", headers=good)).status_code == 200
    assert (await client.get("/api/tts/generations", headers=good)).status_code == 200


async def test_firebase_auth_requires_an_identity_token(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, container: Container, issuer: Issuer
) -> None:
    iss, aud = "https://securetoken.google.com/demo", "demo"
    container.extras["oidc"] = OidcVerifier(issuer.jwks_url, iss, aud)
    container.settings.security.enable_firebase_auth = True
    r = await client.get("/api/voices")  # an API key is a voxhub credential, not Firebase's
    assert r.status_code == 401 and r.json()["code"] == "firebase_auth_required"
    id_token = issuer.token(iss, aud, sub="firebase-uid-1", email="fb@example.com")
    r = await anon.get("/api/voices", headers={"Authorization": f"Bearer {id_token}"})
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 0
    forged = issuer.token(iss, "another-project", sub="firebase-uid-1")
    r = await anon.get("/api/voices", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
