"""Seed 004's base64 audio decoded a chunk at a time: exactly what one strict b64decode gives."""

from __future__ import annotations

import base64
import binascii
import os

import pytest

from voxhub.compat import seed004_body
from voxhub.compat.seed004_body import decode_base64


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seed004_body, "_B64_CHUNK", 8)  # many chunks from a few bytes


@pytest.mark.parametrize("size", [0, 1, 2, 3, 5, 6, 7, 12, 100])
def test_chunked_decoding_gives_the_bytes(size: int) -> None:
    data = os.urandom(size)
    encoded = base64.b64encode(data).decode()
    assert decode_base64(encoded) == data
    assert decode_base64(f"data:audio/wav;base64,{encoded}") == data


@pytest.mark.parametrize(
    "bad",
    [
        "QUJDRA==QUJD",  # padding before the end, at a chunk's end
        "QUJDQUJDRA==QUJD",  # ... at the end of a middle chunk
        "QUJDQUJ==QUJ",  # ... across two chunks
        "QUJDREVGR0g!",  # not the alphabet
        "QUJDREVGR0hJS",  # a length no padding mends
        "QUJDREVGR0hJSkt\u00e9",  # not ASCII
    ],
)
def test_what_strict_b64decode_refuses_is_refused(bad: str) -> None:
    with pytest.raises((binascii.Error, ValueError)):
        base64.b64decode(bad, validate=True)
    with pytest.raises((binascii.Error, ValueError)):
        decode_base64(bad)
