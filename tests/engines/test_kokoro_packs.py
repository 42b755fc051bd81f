"""Voice packs: a configured folder, a download into the cache (loopback only), the wheel's five."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import KOKORO_VOICES
from voxhub.engines.embedded.pack_sums import PACK_SHA256
from voxhub.engines.embedded.packs import (
    OFFICIAL_VOICES,
    PACK_SHAPE,
    download_packs,
    load_folder,
    load_packs,
    load_wheel_packs,
    pack_sha256,
    parse_pt,
    read_pack_file,
)
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

    Two are the official packs; `af_bella` has one value changed, as a tampered mirror would.
    """
    root = tmp_path / "hub"
    root.mkdir()
    arrays = {}
    for name in ("af_alloy", "bm_lewis", "af_bella"):
        arrays[name] = read_pack_file(KOKORO_VOICES / f"{name}.bin")
    arrays["af_bella"][100, 7] += 1e-3
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


def test_wheel_fallback_without_folder_or_download(tmp_path: Path) -> None:
    packs, source = load_packs(_settings(tmp_path))
    assert source == "wheel"
    assert [p.name for p in packs] == [p.name for p in load_wheel_packs()]
    assert {p.language for p in packs} == {"ja"} and len(packs) == 5


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


def test_load_packs_downloads_into_settings_cache(
    tmp_path: Path, pt_server: tuple[str, dict[str, np.ndarray]]
) -> None:
    url, _ = pt_server
    settings = _settings(tmp_path, download=True)
    packs, source = load_packs(settings, base_url=url)
    assert source == "cache"
    assert [p.name for p in packs] == ["af_alloy", "bm_lewis"]
    assert (settings.cache_dir / "kokoro_voices" / "af_alloy.bin").is_file()


def test_unreachable_server_falls_back_to_the_wheel(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    packs, source = load_packs(
        _settings(tmp_path, download=True), base_url=f"http://127.0.0.1:{port}", probe_timeout=1
    )
    assert source == "wheel" and len(packs) == 5


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
