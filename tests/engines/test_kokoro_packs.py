"""Voice packs: a configured folder, the shipped English packs, a download into the cache
(loopback only), the wheel's Japanese five; the shipped table of their derived voices."""

from __future__ import annotations

import functools
import hashlib
import http.server
import logging
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.conftest import KOKORO_VOICES
from voxhub.audio.speaker import SpeakerEncoder
from voxhub.engines.base import Reference
from voxhub.engines.embedded import EmbeddedEngine, embeddings
from voxhub.engines.embedded.derive_packs import agrees, difference
from voxhub.engines.embedded.embeddings import (
    EMBED_TEXT,
    derivation_context,
    pack_voices,
    read_table,
    shipped_table,
)
from voxhub.engines.embedded.model import SAMPLE_RATE, KokoroModel, user_model_dir
from voxhub.engines.embedded.pack_sums import PACK_SHA256
from voxhub.engines.embedded.packs import (
    OFFICIAL_VOICES,
    PACK_SHAPE,
    SHIPPED_VOICES,
    DamagedInstall,
    download_packs,
    load_folder,
    load_packs,
    load_shipped_packs,
    load_wheel_packs,
    make_pack,
    pack_sha256,
    parse_pt,
    read_pack_file,
    shipped_voices_dir,
)
from voxhub.engines.embedded.profile import decode_profile
from voxhub.settings import EngineSettings, Settings


def _settings(home: Path, voices: Path | None = None, download: bool = False) -> Settings:
    return Settings(
        home=home, engine=EngineSettings(kokoro_voices_dir=voices, kokoro_download=download)
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def pt_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    """A loopback HTTP server with hub-style `.pt` packs ([510, 1, 256] tensors).

    Four are official packs (two English, two not shipped); `af_bella` and `zf_xiaobei` have
    one value changed, as a tampered mirror would.
    """
    root = tmp_path / "hub"
    root.mkdir()
    arrays = {}
    for name in ("af_alloy", "bm_lewis", "af_bella", "ef_dora", "if_sara", "zf_xiaobei"):
        arrays[name] = read_pack_file(KOKORO_VOICES / f"{name}.bin")
    arrays["af_bella"][100, 7] += 1e-3
    arrays["zf_xiaobei"][3, 3] += 1e-3
    for name, array in arrays.items():
        torch.save(torch.from_numpy(array).reshape(510, 1, 256), root / f"{name}.pt")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", arrays
    finally:
        server.shutdown()
        server.server_close()


def test_load_folder_reads_the_official_packs(shared: Path) -> None:
    packs = load_folder(shared / "models" / "kokoro" / "voices")
    names = [p.name for p in packs]
    assert len(packs) == 54 and names == sorted(names)
    heart = packs[names.index("af_heart")]
    assert (heart.language, heart.gender, heart.is_english) == ("en-us", "f", True)
    george = packs[names.index("bm_george")]
    assert (george.language, george.gender) == ("en-gb", "m")
    assert packs[names.index("jm_kumo")].language == "ja"
    assert sum(p.is_english for p in packs) == 28
    assert all(p.style.shape == PACK_SHAPE and p.style.dtype == np.float32 for p in packs)


def test_load_folder_accepts_npy_and_skips_bad_files(tmp_path: Path) -> None:
    good = np.arange(510 * 256, dtype=np.float32).reshape(PACK_SHAPE) / 1e5
    np.save(tmp_path / "af_test.npy", good)
    good.astype("<f4").tofile(tmp_path / "am_test.bin")
    np.zeros(100, np.float32).tofile(tmp_path / "bf_short.bin")  # wrong size
    (tmp_path / "notes.txt").write_text("not a pack")
    packs = load_folder(tmp_path)
    assert [p.name for p in packs] == ["af_test", "am_test"]
    np.testing.assert_array_equal(packs[0].style, good)
    np.testing.assert_array_equal(packs[1].style, good)


def test_load_packs_prefers_the_configured_folder(tmp_path: Path, shared: Path) -> None:
    packs, source = load_packs(_settings(tmp_path, shared / "models" / "kokoro" / "voices"))
    assert source == "folder" and len(packs) == 54


def test_offline_default_is_the_shipped_english_packs_and_the_wheels_japanese(
    tmp_path: Path,
) -> None:
    packs, source = load_packs(_settings(tmp_path))
    assert source == "shipped+wheel"
    by_name = {p.name: p for p in packs}
    english = sorted(n for n, p in by_name.items() if p.is_english)
    assert english == sorted(SHIPPED_VOICES) and len(english) == 28
    assert {"af_heart", "bm_george"} <= set(english)
    assert (by_name["af_heart"].language, by_name["bm_george"].language) == ("en-us", "en-gb")
    others = sorted(set(by_name) - set(english))
    assert others == [p.name for p in load_wheel_packs()] and len(others) == 5
    for name, pack in by_name.items():  # every pack is the official one
        assert pack_sha256(pack.style) == PACK_SHA256[name]


def test_shipped_packs_are_the_official_english_ones_with_licence_and_provenance() -> None:
    assert tuple(n for n in OFFICIAL_VOICES if n[0] in "ab") == SHIPPED_VOICES
    shipped = load_shipped_packs()
    assert [p.name for p in shipped] == list(SHIPPED_VOICES)
    for pack in shipped:
        official = read_pack_file(KOKORO_VOICES / f"{pack.name}.bin")
        np.testing.assert_array_equal(pack.style, official)
        assert pack.style.flags.writeable and pack.is_english
    root = shipped_voices_dir()
    assert "Apache License" in (root / "LICENSE").read_text()
    provenance = (root / "README.md").read_text()
    assert "dfb907a02bba8152ca444717ca5d78747ccb4bec" in provenance
    assert "kokoro.js/voices/" in provenance and "pack_sums.py" in provenance
    on_disk = sorted(p.name for p in Path(str(root)).iterdir())
    files = ["LICENSE", "README.md", "SHA256SUMS"]
    assert on_disk == sorted([*(f"{n}.bin" for n in SHIPPED_VOICES), *files])


def test_the_shipped_packs_match_their_provenance_sums() -> None:
    # SHA256SUMS (what a person checks with `sha256sum -c`), the pins the engine checks at load
    # and the bytes on disk are one set of sums.
    root = shipped_voices_dir()
    listed = {}
    for line in (root / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        listed[name] = digest
    assert sorted(listed) == sorted(f"{n}.bin" for n in SHIPPED_VOICES)
    for name in SHIPPED_VOICES:
        content = (root / f"{name}.bin").read_bytes()
        assert hashlib.sha256(content).hexdigest() == listed[f"{name}.bin"] == PACK_SHA256[name]
    assert "SHA256SUMS" in (root / "README.md").read_text()


def _copy_of_the_shipped_packs(tmp_path: Path) -> Path:
    copy = tmp_path / "voices"
    shutil.copytree(Path(str(shipped_voices_dir())), copy)
    return copy


def test_a_damaged_shipped_pack_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = _copy_of_the_shipped_packs(tmp_path)
    assert len(load_shipped_packs(copy)) == 28
    changed = bytearray((copy / "bm_george.bin").read_bytes())
    changed[1000] ^= 1
    (copy / "bm_george.bin").write_bytes(bytes(changed))
    with pytest.raises(DamagedInstall, match="bm_george does not match its pinned sha256"):
        load_shipped_packs(copy)
    # The engine's loader does not fall back to anything quieter.
    monkeypatch.setattr("voxhub.engines.embedded.packs.shipped_voices_dir", lambda: copy)
    with pytest.raises(DamagedInstall):
        load_packs(_settings(tmp_path / "home"))
    (copy / "bm_george.bin").unlink()
    with pytest.raises(DamagedInstall, match="bm_george is missing"):
        load_packs(_settings(tmp_path / "home"))


def test_wheel_packs_match_the_shared_copies(shared: Path) -> None:
    shared_packs = {p.name: p for p in load_folder(shared / "models" / "kokoro" / "voices")}
    for pack in load_wheel_packs():
        np.testing.assert_array_equal(pack.style, shared_packs[pack.name].style)


def test_download_fills_the_cache_from_a_server(
    tmp_path: Path, pt_server: tuple[str, dict[str, np.ndarray]]
) -> None:
    url, arrays = pt_server
    folder = tmp_path / "cache"
    names = ["af_alloy", "bm_lewis", "am_missing"]
    fetched = download_packs(folder, names=names, base_url=url)
    assert fetched == ["af_alloy", "bm_lewis"]  # the missing one is logged and skipped
    packs = {p.name: p for p in load_folder(folder)}
    assert set(packs) == {"af_alloy", "bm_lewis"}
    for name in packs:
        np.testing.assert_array_equal(packs[name].style, arrays[name])
    # Packs already in the cache are not fetched again.
    assert download_packs(folder, names=["af_alloy", "bm_lewis"], base_url=url) == []


def test_download_refuses_a_pack_that_does_not_match_its_pinned_sum(
    tmp_path: Path, pt_server: tuple[str, dict[str, np.ndarray]], caplog
) -> None:
    url, _ = pt_server
    folder = tmp_path / "cache"
    assert download_packs(folder, names=["af_bella", "af_alloy"], base_url=url) == ["af_alloy"]
    assert not (folder / "af_bella.bin").exists()
    assert "af_bella: sha256 does not match" in caplog.text


def test_cache_skips_a_pack_changed_after_download(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    for name in ("af_alloy", "bm_lewis"):
        (folder / f"{name}.bin").write_bytes((KOKORO_VOICES / f"{name}.bin").read_bytes())
    changed = bytearray((folder / "bm_lewis.bin").read_bytes())
    changed[40] ^= 1
    (folder / "bm_lewis.bin").write_bytes(bytes(changed))
    assert [p.name for p in load_folder(folder, pinned=PACK_SHA256)] == ["af_alloy"]
    assert [p.name for p in load_folder(folder)] == ["af_alloy", "bm_lewis"]


def test_pinned_sums_match_the_official_packs() -> None:
    for name in OFFICIAL_VOICES:
        assert pack_sha256(read_pack_file(KOKORO_VOICES / f"{name}.bin")) == PACK_SHA256[name]


def test_load_packs_downloads_only_what_is_not_shipped(
    tmp_path: Path, pt_server: tuple[str, dict[str, np.ndarray]]
) -> None:
    url, _ = pt_server
    settings = _settings(tmp_path, download=True)
    packs, source = load_packs(settings, base_url=url)
    assert source == "shipped+cache+wheel"
    cache = settings.cache_dir / "kokoro_voices"
    # English packs are shipped, never fetched; the tampered zf_xiaobei is refused.
    assert sorted(p.name for p in cache.glob("*.bin")) == ["ef_dora.bin", "if_sara.bin"]
    names = {p.name for p in packs}
    assert {"ef_dora", "if_sara", "af_heart", "jm_kumo"} <= names and "zf_xiaobei" not in names
    assert len(names) == 28 + 2 + 5
    # A second start finds them in the cache.
    again, source = load_packs(_settings(tmp_path), base_url=url)
    assert source == "shipped+cache+wheel" and {p.name for p in again} == names


def test_unreachable_server_leaves_the_shipped_packs_and_the_wheel(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    packs, source = load_packs(
        _settings(tmp_path, download=True), base_url=f"http://127.0.0.1:{port}", probe_timeout=1
    )
    assert source == "shipped+wheel" and len(packs) == 28 + 5


def test_parse_pt_rejects_what_is_not_a_pack(tmp_path: Path) -> None:
    import io

    buf = io.BytesIO()
    torch.save({"not": torch.zeros(3)}, buf)
    with pytest.raises(ValueError):
        parse_pt(buf.getvalue())
    buf = io.BytesIO()
    torch.save(torch.zeros(10, 256), buf)
    with pytest.raises(ValueError):
        parse_pt(buf.getvalue())


# ---- the shipped table of the packs' voices (embeddings and spectra) ------------------------


class _FakeVoices:
    """A stand-in synthesis and encoder that count what they are asked to do."""

    def __init__(self) -> None:
        self.synthesised: list[str] = []

    def synthesise(self, style: np.ndarray, text: str) -> np.ndarray:
        self.synthesised.append(text)
        rng = np.random.default_rng(int(abs(float(style.sum())) * 1000) % 2**32)
        return rng.standard_normal(SAMPLE_RATE).astype(np.float32) * 0.1

    def embed(self, audio: np.ndarray) -> np.ndarray:
        vector = np.resize(audio[:256], 256).astype(np.float32)
        return vector / np.linalg.norm(vector)


def _shipped(*names: str) -> list:
    packs = {p.name: p for p in load_shipped_packs()}
    return [packs[n] for n in names]


def test_the_shipped_table_holds_every_shipped_pack_in_this_installs_context() -> None:
    # Fails when anything the voices depend on (model, phonemes of EMBED_TEXT, encoder weights,
    # ...) changed without `python -m voxhub.engines.embedded.derive_packs` being run.
    entries, names = read_table(shipped_table(), derivation_context())
    for pack in load_shipped_packs():
        sha = pack_sha256(pack.style)
        assert sha in entries and names[sha] == pack.name, pack.name
        embedding, spectrum = entries[sha]
        assert embedding.shape == (256,) and abs(float(np.linalg.norm(embedding)) - 1) < 1e-4
        assert spectrum.shape == (513,) and abs(float(spectrum.sum()) - 1) < 1e-9
    assert len(entries) == 28


def test_pack_voices_synthesise_only_packs_missing_from_the_shipped_table(tmp_path: Path) -> None:
    context = derivation_context()
    heart, george = _shipped("af_heart", "bm_george")
    mine = make_pack("af_mine", heart.style * 1.01)  # a user's own pack
    fake = _FakeVoices()
    home = tmp_path / "home" / "kokoro_pack_voices.npz"
    voices, synthesised = pack_voices(home, [heart, mine, george], fake.synthesise, fake.embed)
    assert synthesised == 1 and fake.synthesised == [EMBED_TEXT]
    entries, _ = read_table(shipped_table(), context)
    np.testing.assert_array_equal(voices.embeddings[0], entries[pack_sha256(heart.style)][0])
    np.testing.assert_array_equal(voices.spectra[2], entries[pack_sha256(george.style)][1])
    # The user's pack is kept in the home by its values' sha256: once only, under any name.
    _, names = read_table(home, context)
    assert list(names.values()) == ["af_mine"]
    renamed = make_pack("bm_mine", mine.style)
    again, synthesised = pack_voices(home, [renamed, heart], fake.synthesise, fake.embed)
    assert synthesised == 0 and len(fake.synthesised) == 1
    np.testing.assert_array_equal(again.embeddings[0], voices.embeddings[1])
    np.testing.assert_array_equal(again.spectra[0], voices.spectra[1])


def test_a_change_of_context_invalidates_shipped_and_cached_voices(tmp_path: Path) -> None:
    context = derivation_context()
    packs = _shipped("af_heart", "bm_george")
    fake = _FakeVoices()
    home = tmp_path / "kokoro_pack_voices.npz"
    assert pack_voices(home, packs, fake.synthesise, fake.embed, context)[1] == 0
    for part, value in [("encoder", "another encoder"), ("tokens", [1, 2, 3]), ("graph", "v9")]:
        changed = {**context, part: value}
        fake.synthesised.clear()
        _, synthesised = pack_voices(home, packs, fake.synthesise, fake.embed, changed)
        assert synthesised == 2 and len(fake.synthesised) == 2, part
    # The home's table now belongs to the last context: the real one still reads the shipped.
    assert read_table(home, context) == ({}, {})
    assert pack_voices(home, packs, fake.synthesise, fake.embed, context)[1] == 0


@pytest.mark.slow
def test_the_shipped_table_matches_what_the_engine_computes(engine: EmbeddedEngine) -> None:
    stored, _ = read_table(shipped_table(), derivation_context())
    packs = {p.name: p for p in engine.packs}

    def fresh(name: str) -> tuple[np.ndarray, np.ndarray]:
        return embeddings.derive(
            packs[name].style,
            engine._synthesise_text,
            lambda audio: engine._encoder.embed(audio, SAMPLE_RATE),
        )

    heart, george = fresh("af_heart"), fresh("bm_george")
    heart_stored = stored[pack_sha256(packs["af_heart"].style)]
    george_stored = stored[pack_sha256(packs["bm_george"].style)]
    print(
        f"\nshipped vs fresh: af_heart {difference(heart_stored, heart)}, "
        f"bm_george {difference(george_stored, george)}"
    )
    assert agrees(heart_stored, heart) and agrees(george_stored, george)
    assert not agrees(heart_stored, george)  # the tolerance does tell two voices apart


@pytest.mark.slow
async def test_a_fresh_home_enrols_in_native_english_without_synthesising_a_pack(
    tmp_path: Path,
    shared: Path,
    speaker_encoder: SpeakerEncoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VOXHUB_KOKORO_VOICES_DIR", raising=False)
    calls: list[int] = []
    infer = KokoroModel.infer

    def counting_infer(self: KokoroModel, token_ids: list[int], *args, **kwargs) -> np.ndarray:
        calls.append(len(token_ids))
        return infer(self, token_ids, *args, **kwargs)

    monkeypatch.setattr(KokoroModel, "infer", counting_infer)
    derived: list[str] = []
    derive = embeddings.derive

    def counting_derive(*args, **kwargs) -> tuple[np.ndarray, np.ndarray]:
        derived.append("pack")
        return derive(*args, **kwargs)

    monkeypatch.setattr(embeddings, "derive", counting_derive)
    samples, rate = sf.read(
        shared / "data/speech/librispeech_1688-142285-0000.flac", dtype="float32"
    )
    settings = _settings(tmp_path / "fresh-home")  # no folder, no download, nothing cached
    started = time.perf_counter()
    engine = EmbeddedEngine(settings, speaker_encoder)
    await engine.load()
    loaded = time.perf_counter()
    profile = await engine.enroll(Reference(samples, rate))
    done = time.perf_counter()
    print(
        f"\nfresh home: engine load {loaded - started:.2f}s, first enrolment "
        f"{done - loaded:.2f}s, total {done - started:.2f}s {engine.load_stats} "
        "(speaker encoder already loaded)"
    )
    assert calls == []  # neither the load nor the enrolment synthesised anything
    assert derived == [] and engine.load_stats["packs_synthesised"] == 0
    assert not (settings.cache_dir / "kokoro_pack_voices.npz").exists()
    # The model comes from the per-user cache that every home shares, not a copy in this home.
    assert engine._model.path is not None and engine._model.path.parent == user_model_dir()
    assert not (settings.cache_dir / "kokoro").exists()
    assert engine.pack_source == "shipped+wheel"
    names = {p.name for p in engine.packs}
    assert {"af_heart", "bm_george"} <= names
    # Cloning chooses among the 28 native English packs only.
    assert sorted(engine.pack_embeddings) == sorted(SHIPPED_VOICES)
    chosen = decode_profile(profile.data).packs
    assert chosen and set(chosen) <= set(SHIPPED_VOICES)
    await engine.aclose()


def test_a_home_cache_of_the_older_format_is_replaced(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="voxhub.engines.embedded.embeddings")
    home = tmp_path / "kokoro_pack_voices.npz"
    np.savez(home, key=np.array("old"), names=np.array(["af_mine"]), embeddings=np.ones((1, 256)))
    mine = make_pack("af_mine", _shipped("af_heart")[0].style * 1.01)
    fake = _FakeVoices()
    assert pack_voices(home, [mine], fake.synthesise, fake.embed)[1] == 1
    assert "older format" in caplog.text and "unreadable" not in caplog.text
    assert list(read_table(home, derivation_context())[1].values()) == ["af_mine"]
