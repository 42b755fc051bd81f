"""The packs not shipped are fetched after the engine starts: a fresh home enrols (with the
shipped English packs) while the model hub is still answering, and never asks it for those."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.conftest import KOKORO_VOICES
from voxhub.audio.speaker import SpeakerEncoder
from voxhub.engines.base import Reference, SynthesisParams
from voxhub.engines.embedded import EmbeddedEngine
from voxhub.engines.embedded.pack_download import PackDownload
from voxhub.engines.embedded.pack_sums import PACK_SHA256
from voxhub.engines.embedded.packs import (
    SHIPPED_VOICES,
    VoicePack,
    load_wheel_packs,
    pack_sha256,
    read_pack_file,
)
from voxhub.engines.embedded.profile import decode_profile
from voxhub.settings import EngineSettings, Settings

ON_THE_HUB = ("ef_dora", "if_sara")  # two official packs voxhub does not ship
WHEEL = len(load_wheel_packs())
EN = SynthesisParams(language="en")


@dataclass
class _Hub:
    """A loopback model hub: it answers the probe at once and holds every pack download until
    `gate` is set, so a test sees what the engine does while a download is under way."""

    url: str
    gate: threading.Event
    asked: list[str] = field(default_factory=list)

    def names_asked(self) -> set[str]:
        return {path.rsplit("/", 1)[-1].removesuffix(".pt") for path in self.asked}


class _GatedHandler(http.server.SimpleHTTPRequestHandler):
    hub: _Hub

    def do_GET(self) -> None:
        self.hub.asked.append(self.path)
        self.hub.gate.wait(timeout=60)
        super().do_GET()

    def do_HEAD(self) -> None:
        self.hub.asked.append(self.path)
        super().do_HEAD()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[_Hub]:
    root = tmp_path / "hub"
    root.mkdir()
    for name in ON_THE_HUB:
        array = read_pack_file(KOKORO_VOICES / f"{name}.bin")
        torch.save(torch.from_numpy(array).reshape(510, 1, 256), root / f"{name}.pt")
    handler = type("Handler", (_GatedHandler,), {})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(root))
    )
    handler.hub = _Hub(f"http://127.0.0.1:{server.server_address[1]}", threading.Event())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler.hub
    finally:
        handler.hub.gate.set()  # no request stays held after the test
        server.shutdown()
        server.server_close()


def _settings(home: Path, download: bool = True, voices: Path | None = None) -> Settings:
    engine = EngineSettings(kokoro_voices_dir=voices, kokoro_download=download, engine_threads=2)
    return Settings(home=home, engine=engine)


def test_the_download_fetches_only_packs_not_shipped_and_hands_them_over(
    tmp_path: Path, hub: _Hub
) -> None:
    settings = _settings(tmp_path / "home")
    handed: list[tuple[list[VoicePack], str]] = []
    download = PackDownload(settings, lambda *got: handed.append(got), base_url=hub.url)
    assert download.start_if_wanted("shipped+wheel")
    assert not download.join(0) and handed == []  # held by the hub, nothing handed over yet
    hub.gate.set()
    assert download.join(60)
    assert download.fetched == list(ON_THE_HUB)
    [(packs, source)] = handed
    assert source == "shipped+cache+wheel"
    names = [p.name for p in packs]
    assert set(ON_THE_HUB) | set(SHIPPED_VOICES) <= set(names)
    assert len(names) == len(SHIPPED_VOICES) + len(ON_THE_HUB) + WHEEL
    for pack in packs:
        assert pack_sha256(pack.style) == PACK_SHA256[pack.name]
    # Every official pack not shipped was asked for, no shipped one ever was.
    assert hub.names_asked().isdisjoint(SHIPPED_VOICES) and set(ON_THE_HUB) <= hub.names_asked()
    cache = settings.cache_dir / "kokoro_voices"
    assert sorted(p.stem for p in cache.glob("*.bin")) == list(ON_THE_HUB)


def test_no_download_from_a_configured_folder_or_when_downloads_are_off(
    tmp_path: Path, hub: _Hub
) -> None:
    def refuse(packs: list[VoicePack], source: str) -> None:
        raise AssertionError("nothing should be handed over")

    off = PackDownload(_settings(tmp_path / "a", download=False), refuse, base_url=hub.url)
    assert not off.start_if_wanted("shipped+wheel") and off.join(0)
    folder = PackDownload(_settings(tmp_path / "b"), refuse, base_url=hub.url)
    assert not folder.start_if_wanted("folder") and folder.join(0)
    assert hub.asked == []


def test_a_second_download_finds_the_cache_and_hands_nothing_over(
    tmp_path: Path, hub: _Hub
) -> None:
    settings = _settings(tmp_path / "home")
    hub.gate.set()
    handed: list[str] = []
    for _ in range(2):
        download = PackDownload(settings, lambda p, s: handed.append(s), base_url=hub.url)
        assert download.start_if_wanted("shipped+wheel") and download.join(60)
    assert handed == ["shipped+cache+wheel"] and download.fetched == []


@pytest.mark.slow
async def test_a_fresh_home_enrols_while_the_hub_is_still_downloading(
    tmp_path: Path, shared: Path, speaker_encoder: SpeakerEncoder, hub: _Hub
) -> None:
    settings = _settings(tmp_path / "fresh-home")  # downloads on, nothing configured
    engine = EmbeddedEngine(settings, speaker_encoder, voices_url=hub.url)
    await engine.load()  # returns although every pack download is being held
    try:
        assert not engine.pack_download.join(0)
        assert engine.pack_source == "shipped+wheel"
        assert len(engine.packs) == len(SHIPPED_VOICES) + WHEEL
        samples, rate = sf.read(
            shared / "data/speech/librispeech_1688-142285-0000.flac", dtype="float32"
        )
        profile = await engine.enroll(Reference(samples, rate))
        assert set(decode_profile(profile.data).packs) <= set(SHIPPED_VOICES)
        chunks = [c async for c in engine.synthesize("Ready.", profile, EN)]
        assert np.concatenate([c.samples for c in chunks]).size > 0
        hub.gate.set()
        assert engine.pack_download.join(60)
        assert engine.pack_source == "shipped+cache+wheel"
        assert set(ON_THE_HUB) <= {p.name for p in engine.packs}
        engine.stock_profile("ef_dora")  # the new stock voices are there to speak with
        # Cloning still chooses among the shipped English packs only.
        assert sorted(engine.pack_embeddings) == sorted(SHIPPED_VOICES)
        assert hub.names_asked().isdisjoint(SHIPPED_VOICES)
    finally:
        await engine.aclose()
