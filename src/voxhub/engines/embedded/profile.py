"""The instant voice profile: a convex blend of the stock packs nearest to a speaker."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import numpy as np

from voxhub.engines.embedded.adapt import N_FFT
from voxhub.engines.embedded.packs import PACK_SHAPE

# Bump when the choice or blend changes: stored profiles say which algorithm made them.
PROFILE_ALGORITHM = "blend-3"
# Tried on the shared speech samples (k 1-28, temperature 0.01-0.1, with and without norm
# rescaling, pitch-aware choice): five neighbours at 0.05 was among the best everywhere and the
# plain convex blend beat rescaling each row to its sources' mean norm on 7 of 9 speakers.
NEIGHBOURS = 5
TEMPERATURE = 0.05
# Kokoro reads a style row as two vectors: [:128] conditions the decoder (timbre), [128:] the
# prosody predictor. Their norms are kept in range separately.
_HALVES = (slice(0, 128), slice(128, 256))
EQ_BINS = N_FFT // 2 + 1


@dataclass(frozen=True)
class StyleProfile:
    """What a profile's bytes hold: the style table and how it was made."""

    style: np.ndarray  # float32 [510, 256]
    packs: tuple[str, ...]
    weights: tuple[float, ...]
    seed: int = 0
    algorithm: str = PROFILE_ALGORITHM
    # Post-adaptation (adapt.py), fitted by refinement: pitch scale and equaliser gains in dB.
    f0_scale: float = 1.0
    eq_db: np.ndarray | None = None


def choose_packs(
    embedding: np.ndarray,
    pack_embeddings: np.ndarray,
    k: int = NEIGHBOURS,
    temperature: float = TEMPERATURE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the k packs most similar to `embedding`, their softmax weights, similarities."""
    target = embedding / max(float(np.linalg.norm(embedding)), 1e-12)
    norms = np.linalg.norm(pack_embeddings, axis=1)
    sims = (pack_embeddings @ target) / np.maximum(norms, 1e-12)
    k = max(1, min(k, len(sims)))
    # A stable sort keeps ties in pack order, so the choice is deterministic.
    order = np.argsort(-sims, kind="stable")[:k]
    logits = (sims[order] - sims[order[0]]) / max(temperature, 1e-6)
    weights = np.exp(logits)
    weights /= weights.sum()
    return order, weights.astype(np.float64), sims


def half_norms(styles: np.ndarray) -> np.ndarray:
    """Norms of each row's two halves: [..., 510, 2] for [..., 510, 256] style tables."""
    return np.stack([np.linalg.norm(styles[..., half], axis=-1) for half in _HALVES], axis=-1)


def norm_range(stock: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest half-row norms over [k, 510, 256] stock tables: two [510, 2]."""
    norms = half_norms(np.asarray(stock, dtype=np.float64))
    return norms.min(axis=0), norms.max(axis=0)


def blend_styles(
    styles: np.ndarray, weights: np.ndarray, limits: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """Convex blend of [k, 510, 256] style tables, each half-row's norm clipped to `limits`.

    Averaging vectors that point different ways shortens them; a style vector shorter (or
    longer) than any the model was trained with can make it mumble, so norms stay within the
    range the stock packs span row by row.
    """
    w = np.asarray(weights, dtype=np.float64).reshape(-1, 1, 1)
    mixed = (w * np.asarray(styles, dtype=np.float64)).sum(axis=0)
    current = half_norms(mixed)
    target = np.clip(current, limits[0], limits[1])
    scale = target / np.maximum(current, 1e-12)
    for i, half in enumerate(_HALVES):
        mixed[:, half] *= scale[:, i : i + 1]
    return mixed.astype(np.float32)


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def encode_profile(profile: StyleProfile) -> bytes:
    """The profile as `.npz` bytes; byte-identical for identical profiles (fixed zip dates)."""
    members = {
        "style": np.asarray(profile.style, dtype=np.float32).reshape(PACK_SHAPE),
        "packs": np.array(profile.packs, dtype=np.str_),
        "weights": np.array(profile.weights, dtype=np.float32),
        "seed": np.array(profile.seed, dtype=np.int64),
        "algorithm": np.array(profile.algorithm, dtype=np.str_),
        "f0_scale": np.array(profile.f0_scale, dtype=np.float32),
    }
    if profile.eq_db is not None:
        members["eq_db"] = np.asarray(profile.eq_db, dtype=np.float32)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, array in members.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, _npy(array))
    return buf.getvalue()


def decode_profile(data: bytes) -> StyleProfile:
    """Read profile bytes back; raises ValueError when they are not a profile."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            style = np.asarray(npz["style"], dtype=np.float32)
            packs = tuple(str(p) for p in npz["packs"]) if "packs" in npz.files else ()
            weights = tuple(float(w) for w in npz["weights"]) if "weights" in npz.files else ()
            seed = int(npz["seed"]) if "seed" in npz.files else 0
            algorithm = str(npz["algorithm"]) if "algorithm" in npz.files else ""
            f0_scale = float(npz["f0_scale"]) if "f0_scale" in npz.files else 1.0
            eq_db = np.asarray(npz["eq_db"], dtype=np.float32) if "eq_db" in npz.files else None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"not an embedded-engine voice profile: {exc}") from exc
    if style.shape != PACK_SHAPE or not np.all(np.isfinite(style)):
        raise ValueError(f"voice profile style has shape {style.shape}, expected {PACK_SHAPE}")
    if not (np.isfinite(f0_scale) and 0.5 <= f0_scale <= 2.0):
        raise ValueError(f"voice profile pitch scale {f0_scale} is outside 0.5-2")
    if eq_db is not None and (
        eq_db.shape != (EQ_BINS,) or not np.all(np.isfinite(eq_db)) or np.abs(eq_db).max() > 24
    ):
        raise ValueError("voice profile equaliser is not a curve of finite gains within 24 dB")
    return StyleProfile(style, packs, weights, seed, algorithm, f0_scale, eq_db)
