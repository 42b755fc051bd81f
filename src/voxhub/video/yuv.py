"""Frames as the YUV 4:2:0 planes H.264 stores, with RGBA overlays blended straight into them.

Composing in RGB costs two whole-frame colour conversions per frame (the background to RGB and
the result back); here the background is scaled once into YUV and only the overlay's pixels are
touched. Colours use BT.709 in limited range (Y 16-235), as the encoder's stream is tagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
from PIL import Image

# Y (h, w), U and V (h/2, w/2), uint8
Planes = tuple[np.ndarray, np.ndarray, np.ndarray]

# BT.709 RGB (0..1) to Y'CbCr, scaled to limited range: Y 16..235, Cb and Cr 16..240.
_KR, _KB = 0.2126, 0.0722
_KG = 1 - _KR - _KB
_MATRIX = np.array(
    [
        [_KR, _KG, _KB],
        [-_KR / (2 * (1 - _KB)), -_KG / (2 * (1 - _KB)), 0.5],
        [0.5, -_KG / (2 * (1 - _KR)), -_KB / (2 * (1 - _KR))],
    ],
    dtype=np.float32,
)
_SCALE = np.array([219, 224, 224], dtype=np.float32)
_OFFSET = np.array([16, 128, 128], dtype=np.float32)


def rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB in 0..255 to (..., 3) float Y, U, V in limited-range code values."""
    return (rgb.astype(np.float32) / 255) @ _MATRIX.T * _SCALE + _OFFSET


def _half(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """2x2 blocks averaged, weighted (so transparent pixels lend no colour to their neighbours)."""
    h, w = weights.shape
    blocks = weights.reshape(h // 2, 2, w // 2, 2)
    total = blocks.sum(axis=(1, 3))
    summed = (values.reshape(h // 2, 2, w // 2, 2, -1) * blocks[..., None]).sum(axis=(1, 3))
    return summed / np.maximum(total, 1e-6)[..., None]


def planes_from_rgb(image: Image.Image) -> Planes:
    """An RGB picture (even sides) as YUV 4:2:0 planes."""
    yuv = rgb_to_yuv(np.asarray(image.convert("RGB")))
    chroma = _half(yuv[..., 1:], np.ones(yuv.shape[:2], np.float32))
    luma, u, v = (
        np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in (yuv[..., 0], *_split(chroma))
    )
    return luma, u, v


def _split(chroma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return chroma[..., 0], chroma[..., 1]


def planes_of(frame: av.VideoFrame) -> Planes:
    """A yuv420p frame's planes as arrays (copied out of the frame)."""
    h, w = frame.height, frame.width
    flat = frame.to_ndarray().reshape(-1)
    luma, chroma = h * w, (h // 2) * (w // 2)
    return (
        flat[:luma].reshape(h, w),
        flat[luma : luma + chroma].reshape(h // 2, w // 2),
        flat[luma + chroma : luma + 2 * chroma].reshape(h // 2, w // 2),
    )


@dataclass(frozen=True)
class YuvOverlay:
    """An RGBA patch converted once for blending: `value * alpha` and `1 - alpha` per plane."""

    x: int  # even, so the chroma planes line up
    y: int
    premultiplied: tuple[np.ndarray, np.ndarray, np.ndarray]
    keep: tuple[np.ndarray, np.ndarray, np.ndarray]

    @classmethod
    def from_rgba(cls, image: Image.Image, x: int, y: int) -> YuvOverlay:
        left, top = x % 2, y % 2
        width = image.width + left + (image.width + left) % 2
        height = image.height + top + (image.height + top) % 2
        padded = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        padded.paste(image, (left, top))
        rgba = np.asarray(padded)
        alpha = rgba[..., 3].astype(np.float32) / 255
        yuv = rgb_to_yuv(rgba[..., :3])
        chroma = _half(yuv[..., 1:], alpha)
        chroma_alpha = alpha.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
        return cls(
            x - left,
            y - top,
            (yuv[..., 0] * alpha, chroma[..., 0] * chroma_alpha, chroma[..., 1] * chroma_alpha),
            (1 - alpha, 1 - chroma_alpha, 1 - chroma_alpha),
        )


def compose_frame(base: Planes, overlay: YuvOverlay | None) -> av.VideoFrame:
    """A new yuv420p frame: `base` (left untouched) with `overlay` blended over it."""
    luma, u, v = base
    h, w = luma.shape
    out = np.concatenate([luma.reshape(-1), u.reshape(-1), v.reshape(-1)])
    if overlay is not None:
        chroma = (h // 2) * (w // 2)
        planes = (
            out[: h * w].reshape(h, w),
            out[h * w : h * w + chroma].reshape(h // 2, w // 2),
            out[h * w + chroma :].reshape(h // 2, w // 2),
        )
        for index, plane in enumerate(planes):
            scale = 1 if index == 0 else 2
            top, left = overlay.y // scale, overlay.x // scale
            values, keep = overlay.premultiplied[index], overlay.keep[index]
            region = plane[top : top + keep.shape[0], left : left + keep.shape[1]]
            region[...] = np.clip(region * keep + values + 0.5, 0, 255)
    return av.VideoFrame.from_ndarray(out.reshape(h * 3 // 2, w), format="yuv420p")
