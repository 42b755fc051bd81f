"""Schemathesis, every check, over the whole OpenAPI of a real server on SQLite and PostgreSQL.

The server is seeded through its API with a voice, a generation, a job and an API key, and their
ids are fed to the fuzzer as path parameters (most of the time; otherwise it makes up its own), so
requests reach past the 404 of a made-up id. It signs in with an access token from a password
login: an API key could be deleted by the fuzzer itself through DELETE /api/v1/api-keys/{key_id}.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.api.characters_helpers import png
from tests.conftest import SPEECH, truncate_all
from voxhub.core.pagination import encode_cursor
from voxhub.db.migrate import upgrade_to_head
from voxhub.db.session import create_engine

EXAMPLES = os.environ.get("VOXHUB_SCHEMATHESIS_EXAMPLES", "4")
# Real ids are used this often; the rest of the time schemathesis makes its own up.
REAL_ID_PROBABILITY = 0.75
# schemathesis's own default for what answers a schema-valid request.
POSITIVE = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
# A schema cannot say which bytes are a recording of speech: any fit `format: binary` or base64.
# On the routes that take recordings, refusing the content is an answer to valid data too: 415
# not audio, 422 unusable (undecodable, too short, no speech), 413 too long; seed 002 answers
# these with 400, as it documents. Every other operation is held to POSITIVE.
UPLOAD_REFUSALS = {
    "POST /api/v1/voices": ["413", "415", "422"],
    "POST /api/v1/voices/{voice_id}/references": ["413", "415", "422"],
    "POST /voices": ["400", "413", "415"],
    "POST /api/voices/clone": ["413", "415", "422"],
    "POST /api/voices/save": ["413", "415", "422"],
    "POST /api/tts/save": ["413", "415", "422"],
    # Images: 413 over 10 MiB, 415 not an image, 422 too many pixels or undecodable.
    "POST /api/v1/characters/{character_id}/images": ["413", "415", "422"],
    "POST /api/characters/complete": ["400", "413", "415", "422"],
    "PUT /api/characters/{character_id}": ["413", "415", "422"],
    "POST /api/upload-reference": ["413", "415", "422"],
    # A mix takes a recording too; a form schema cannot say "bed or bed_file, one of them"
    # either, so a valid form naming neither is refused 422 `bed_choice`.
    "POST /api/v1/mix": ["413", "415", "422"],
    # A background clip: 413 too large, 415 not a video, 422 too long, too many pixels, broken.
    "POST /api/v1/backgrounds": ["413", "415", "422"],
    "POST /v1/voices/add": ["413", "415", "422"],
    # The no-go list's recording: refused like a voice's reference when it is not speech.
    "POST /api/v1/admin/blocked-voices": ["413", "415", "422"],
    # Detection decodes what it is given like any upload.
    "POST /api/v1/detect": ["413", "415", "422"],
}

# One worker: with two, Hypothesis describes strategies from threads and CPython 3.11.7's
# ast.parse can fail there ("AST constructor recursion depth mismatch", fixed in later 3.11s).
CONFIG = """\
seed = 1
workers = 1
request-timeout = 60
suppress-health-check = ["all"]
headers = {{ Authorization = "Bearer {token}" }}

[checks]
enabled = true

[generation]
max-examples = {examples}

[dictionaries]
voices = {{ values = ["{voice}"] }}
doomed = {{ values = ["{doomed}"] }}
generations = {{ values = ["{generation}"] }}
jobs = {{ values = ["{job}"] }}
keys = {{ values = ["{key}"] }}
characters = {{ values = ["{character}"] }}
doomed_characters = {{ values = ["{doomed_character}"] }}
image_keys = {{ values = ["0"] }}
static_images = {{ values = ["{character}_0.webp"] }}
static_audio = {{ values = ["{character}.wav"] }}
dictionaries = {{ values = ["{dictionary}"] }}
doomed_dicts = {{ values = ["{doomed_dictionary}"] }}
languages = {{ values = ["en"] }}
blocked = {{ values = ["{blocked}"] }}

[parameters]
"path.voice_id" = {{ dictionary = "voices", probability = {p} }}
"path.generation_id" = {{ dictionary = "generations", probability = {p} }}
# Seed 004's name for a generation.
"path.file_id" = {{ dictionary = "generations", probability = {p} }}
"path.job_id" = {{ dictionary = "jobs", probability = {p} }}
"path.key_id" = {{ dictionary = "keys", probability = {p} }}
"path.character_id" = {{ dictionary = "characters", probability = {p} }}
"path.key" = {{ dictionary = "image_keys", probability = {p} }}
"path.language" = {{ dictionary = "languages", probability = {p} }}
"path.dictionary_id" = {{ dictionary = "dictionaries", probability = {p} }}
"path.blocked_voice_id" = {{ dictionary = "blocked", probability = {p} }}
# Seed 000's name for a voice (its echo_id is left to the fuzzer, as chat_id is).
"path.model_id" = {{ dictionary = "voices", probability = {p} }}
# Cursors are opaque: a string the schema allows is not one this API made (422 invalid_cursor,
# tested in tests/api/test_client_input.py), so requests carry a real one.
"query.cursor" = "{cursor}"

# The voice that DELETE may remove is not the one every other operation uses.
[[operations]]
include-name = "DELETE /api/v1/voices/{{voice_id}}"
parameters = {{ "path.voice_id" = {{ dictionary = "doomed", probability = {p} }} }}

[[operations]]
include-name = "DELETE /v1/voices/{{voice_id}}"
parameters = {{ "path.voice_id" = {{ dictionary = "doomed", probability = {p} }} }}

[[operations]]
include-name = "DELETE /api/voice-models/{{model_id}}"
parameters = {{ "path.model_id" = {{ dictionary = "doomed", probability = {p} }} }}

# Seed 000's Echo messages are answered by the LLM, which a fresh server may still be preparing:
# 503 llm_unavailable with Retry-After, documented; a real failure still leaves a Traceback.
[[operations]]
include-name = "POST /api/echo/{{echo_id}}/messages"
checks.not_a_server_error.enabled = false

# Likewise the character that DELETE may remove, on both faces.
[[operations]]
include-name = "DELETE /api/v1/characters/{{character_id}}"
parameters = {{ "path.character_id" = {{ dictionary = "doomed_characters", probability = {p} }} }}

[[operations]]
include-name = "DELETE /api/characters/{{character_id}}"
parameters = {{ "path.character_id" = {{ dictionary = "doomed_characters", probability = {p} }} }}

[[operations]]
include-name = "DELETE /api/v1/pronunciation-dictionaries/{{dictionary_id}}"
parameters = {{ "path.dictionary_id" = {{ dictionary = "doomed_dicts", probability = {p} }} }}

[[operations]]
include-name = "GET /api/static/images/{{filename}}"
parameters = {{ "path.filename" = {{ dictionary = "static_images", probability = {p} }} }}

[[operations]]
include-name = "GET /api/static/audio_files/{{filename}}"
parameters = {{ "path.filename" = {{ dictionary = "static_audio", probability = {p} }} }}
"""

# The coverage phase walks every boundary of every parameter (some 1,500 requests, half a minute
# on two cores); it runs on PostgreSQL, the stricter store (text without NUL, typed timestamps).
# SQLite gets the fuzzing and stateful phases, with every check, on every operation too.
NO_COVERAGE = """
[phases.coverage]
enabled = false
"""

# On the upload routes, a form over its field count (32) is also refused 413 `too_many_fields`
# before its fields are read, however invalid they are: a refusal of invalid data too.
UPLOAD = """
[[operations]]
include-name = "{name}"
checks.positive_data_acceptance.expected-statuses = {statuses}
checks.negative_data_rejection.expected-statuses = [
    "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"
]
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(600)
async def test_schemathesis_all_checks(tmp_path: Path, database_url: str) -> None:
    await _empty(database_url)
    port = _free_port()
    env = os.environ | {
        "VOXHUB_HOME": str(tmp_path / "home"),
        "VOXHUB_PORT": str(port),
        "VOXHUB_DATABASE_URL": database_url,
        "VOXHUB_ENGINES": '["fake"]',
        "VOXHUB_DEFAULT_ENGINE": "fake",
        "VOXHUB_RATE_LIMITS_ENABLED": "false",  # the fuzzer is one very busy client
        "VOXHUB_LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "voxhub.cli", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        email, password = _wait_for_admin(log, base, server)
        seeded = _seed(base, email, password)
        config = tmp_path / "schemathesis.toml"
        config.write_text(config_text(seeded, coverage=database_url.startswith("postgresql")))
        started = time.monotonic()
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "st"),
                "--config-file",
                str(config),
                "run",
                f"{base}/openapi.json",
            ],
            capture_output=True,
            text=True,
            timeout=540,
            cwd=tmp_path,
            env=env,
        )
        print(f"schemathesis took {time.monotonic() - started:.1f} s")
        assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-2000:]
        selected = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", result.stdout)
        assert selected and len(set(selected.groups())) == 1, result.stdout[-3000:]
        assert "Traceback" not in log.read_text(), log.read_text()[-6000:]
    finally:
        server.terminate()
        server.wait(30)


async def _empty(url: str) -> None:
    """Migrated and empty: the server must make (and print) its first admin."""
    engine = create_engine(url)
    await upgrade_to_head(engine)
    await engine.dispose()
    await truncate_all(url)


def config_text(seeded: dict[str, str], coverage: bool = True) -> str:
    """schemathesis.toml for a seeded server."""
    config = CONFIG.format(examples=EXAMPLES, p=REAL_ID_PROBABILITY, **seeded)
    config += "" if coverage else NO_COVERAGE
    for name, refusals in UPLOAD_REFUSALS.items():
        config += UPLOAD.format(name=name, statuses=json.dumps(POSITIVE + refusals))
    return config


def _seed(base: str, email: str, password: str) -> dict[str, str]:
    """A voice, a generation, a job and a spare API key, made through the API; and a token."""
    with httpx.Client(base_url=base, timeout=60) as http:
        login = http.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        # The faces with no consent field (the seeds', ElevenLabs') clone under this.
        standing = http.post("/api/v1/consent/standing", json={"consent": "self"})
        assert standing.status_code == 201, standing.text
        audio = (SPEECH / "vctk_p225_003.wav").read_bytes()
        voice = http.post(
            "/api/v1/voices",
            files={"file": ("ana.wav", audio)},
            data={"name": "Ana", "consent": "self"},
        )
        assert voice.status_code == 201, voice.text
        vid = voice.json()["id"]
        doomed = http.post(
            "/api/v1/voices",
            files={"file": ("bo.wav", audio)},
            data={"name": "Bo", "consent": "self"},
        )
        assert doomed.status_code == 201, doomed.text
        spoken = http.post("/api/v1/speech", json={"voice_id": vid, "text": "Hello there."})
        assert spoken.status_code == 200, spoken.text
        job = http.post("/api/v1/speech", json={"voice_id": vid, "text": "Later.", "async": True})
        assert job.status_code == 202, job.text
        key = http.post("/api/v1/api-keys", json={"name": "spare"})
        assert key.status_code == 201, key.text
        character = _seed_character(http, vid, "Modi")
        doomed_character = _seed_character(http, vid, "Doomed")
        dictionary = _seed_dictionary(http, "Names")
        doomed_dictionary = _seed_dictionary(http, "Doomed")
        # On the no-go list: another speaker than the seeded voices', so they still clone.
        other = (SPEECH / "vctk_p228_003.wav").read_bytes()
        blocked = http.post(
            "/api/v1/admin/blocked-voices",
            files={"file": ("other.wav", other)},
            data={"label": "Someone else"},
        )
        assert blocked.status_code == 201, blocked.text
        made = datetime.fromisoformat(voice.json()["created_at"])
    return {
        "cursor": encode_cursor(made, vid),
        "token": token,
        "voice": vid,
        "doomed": doomed.json()["id"],
        "generation": spoken.headers["x-voxhub-generation-id"],
        "job": job.json()["id"],
        "key": key.json()["id"],
        "character": character,
        "doomed_character": doomed_character,
        "dictionary": dictionary,
        "doomed_dictionary": doomed_dictionary,
        "blocked": blocked.json()["id"],
    }


def _seed_dictionary(http: httpx.Client, name: str) -> str:
    """A pronunciation dictionary with a rule of each kind."""
    rules = [
        {"type": "alias", "string_to_replace": "SQL", "alias": "sequel"},
        {"type": "phoneme", "string_to_replace": "Nguyen", "phoneme": "win"},
    ]
    made = http.post("/api/v1/pronunciation-dictionaries", json={"name": name, "rules": rules})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _seed_character(http: httpx.Client, voice_id: str, name: str) -> str:
    """A public character with one image, so image and star routes reach past their 404."""
    body = {"display_name": name, "voice_id": voice_id, "visibility": "public"}
    made = http.post("/api/v1/characters", json=body)
    assert made.status_code == 201, made.text
    cid: str = made.json()["id"]
    image = http.post(f"/api/v1/characters/{cid}/images", files={"file": ("a.png", png())})
    assert image.status_code == 201, image.text
    return cid


def _wait_for_admin(log: Path, base: str, server: subprocess.Popen[bytes]) -> tuple[str, str]:
    deadline = time.time() + 180
    while time.time() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                found = re.search(r"login:\s+(\S+) / (\S+)", log.read_text())
                if found:
                    return found[1], found[2]
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("server did not start:\n" + log.read_text()[-3000:])
