"""Frame pieces: colour conversion, cover-and-crop of a background, overlay blending."""

from __future__ import annotations

import av
import numpy as np
from PIL import Image

from voxhub.video.background import cover_crop
from voxhub.video.cues import Cue
from voxhub.video.layers import Layout, caption_layer, flatten, speaker_layer
from voxhub.video.yuv import YuvOverlay, compose_frame, planes_from_rgb


def test_bt709_limited_range_levels() -> None:
    colours = [(255, 255, 255), (0, 0, 0), (255, 0, 0), (0, 0, 255)]
    picture = Image.new("RGB", (8, 2))
    for x in range(8):
        for y in range(2):
            picture.putpixel((x, y), colours[x // 2])
    luma, u, v = planes_from_rgb(picture)
    assert luma[0].tolist() == [235, 235, 16, 16, 63, 63, 32, 32]  # white, black, red, blue
    assert u[0].tolist() == [128, 128, 102, 240]
    assert v[0].tolist() == [128, 128, 240, 118]


def test_cover_crop_keeps_the_middle_of_a_wider_picture() -> None:
    # Three bands, dark | white | dark: a square crop of the middle is all white.
    pixels = np.zeros((100, 300, 3), np.uint8)
    pixels[:, 100:200] = 255
    frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
    luma, u, v = cover_crop(frame, 100, 100)
    assert luma.shape == (100, 100) and u.shape == v.shape == (50, 50)
    assert luma[:, 4:-4].min() > 225


def test_cover_crop_scales_a_small_picture_up_without_bars() -> None:
    frame = av.VideoFrame.from_ndarray(np.full((90, 120, 3), 200, np.uint8), format="rgb24")
    luma, _, _ = cover_crop(frame, 320, 180)
    assert luma.shape == (180, 320)
    assert np.ptp(luma) <= 2


def test_an_overlay_at_an_odd_position_blends_where_it_was_put() -> None:
    base = planes_from_rgb(Image.new("RGB", (64, 32), (0, 0, 0)))
    dot = Image.new("RGBA", (5, 3), (255, 255, 255, 255))
    frame = compose_frame(base, YuvOverlay.from_rgba(dot, 7, 9))
    luma = frame.to_ndarray()[:32]
    lit = np.argwhere(luma > 200)
    assert lit.min(axis=0).tolist() == [9, 7]
    assert lit.max(axis=0).tolist() == [11, 11]
    assert base[0].max() == 16, "the base planes are left as they were"


def test_a_caption_stays_inside_the_title_safe_area() -> None:
    layout = Layout(1280, 720)
    words = "a long caption that certainly needs more than a single line to be shown " * 3
    patch = caption_layer(words, layout)
    x, y = patch.position
    assert x >= layout.side and x + patch.image.width <= 1280 - layout.side
    assert y + patch.image.height <= layout.bottom
    assert patch.image.height <= 3 * layout.line_height + layout.font_size


def test_a_broken_image_falls_back_to_the_name_card() -> None:
    layout = Layout(640, 360)
    card = speaker_layer(None, "Ana", layout)
    broken = speaker_layer(b"\x89PNG not really", "Ana", layout)
    assert broken.image.size == card.image.size
    assert np.array_equal(np.asarray(broken.image), np.asarray(card.image))


def test_flatten_crops_to_what_is_drawn() -> None:
    layout = Layout(640, 360)
    patch = flatten([caption_layer(Cue(0, 1, "Hi.").text, layout)], 640, 360)
    assert patch is not None
    assert patch.image.width < 200 and patch.position[1] > 250
    assert flatten([], 640, 360) is None
