"""An upload's CPU work (cleaning, embedding, hashing, FLAC) never runs on the event loop."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from tests.api.conftest import create_voice, speech_file
from voxhub.container import Container
from voxhub.voices import service


async def test_per_upload_cpu_work_runs_off_the_event_loop(
    client, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: dict[str, set[int]] = {}

    def spy(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            threads.setdefault(name, set()).add(threading.get_ident())
            return fn(*args, **kwargs)

        return recorded

    monkeypatch.setattr(service, "hashlib", SimpleNamespace(sha256=spy("sha256", hashlib.sha256)))
    monkeypatch.setattr(service, "prepare_reference", spy("clean", service.prepare_reference))
    monkeypatch.setattr(service, "encode", spy("flac", service.encode))
    monkeypatch.setattr(container.speaker, "embed", spy("embed", container.speaker.embed))

    v = await create_voice(client)
    fname, data = speech_file("vctk_p225_008.wav")
    r = await client.post(
        f"/api/v1/voices/{v['id']}/references",
        files={"file": (fname, data)},
        data={"consent": "self"},
    )
    assert r.status_code == 201, r.text

    assert sorted(threads) == ["clean", "embed", "flac", "sha256"]
    loop_thread = threading.get_ident()
    assert {name: loop_thread in seen for name, seen in threads.items()} == dict.fromkeys(
        threads, False
    )
