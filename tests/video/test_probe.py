"""Background clip checks: each kind of bad upload is refused with its own error class."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.media import PNG, tone, wav_bytes
from tests.video.clips import make_audio_only, make_clip
from voxhub.api.errors import status_for
from voxhub.core import errors
from voxhub.video.probe import probe_background

LIMITS = {"max_seconds": 10.0, "max_bytes": 10_000_000, "max_pixels": 1920 * 1080}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("probe") / "clip.mp4", seconds=1.0)


def test_a_good_clip_is_described(clip: Path) -> None:
    for source in (clip, clip.read_bytes()):
        info = probe_background(source, **LIMITS)
        assert (info.width, info.height, info.fps, info.codec) == (320, 180, 10.0, "h264")
        assert info.duration_s == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(wav_bytes(tone(0.5)), id="wav"),
        pytest.param(PNG, id="png"),
        pytest.param(random.Random(7).randbytes(20_000), id="random-bytes"),
        pytest.param(b"", id="empty"),
        pytest.param(b"<html><body>hello</body></html>", id="html"),
    ],
)
def test_what_is_not_a_video_is_415(data: bytes) -> None:
    with pytest.raises(errors.NotAVideo) as refused:
        probe_background(data, **LIMITS)
    assert status_for(refused.value) == 415


def test_audio_only_mp4_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(errors.NotAVideo, match="no video stream"):
        probe_background(make_audio_only(tmp_path / "voice.m4a"), **LIMITS)


def test_a_cut_off_upload_is_undecodable(clip: Path) -> None:
    data = clip.read_bytes()
    for cut in (len(data) // 2, len(data) - 100, len(data) - 1):
        with pytest.raises(errors.VideoUndecodable) as refused:
            probe_background(data[:cut], **LIMITS)
        assert status_for(refused.value) == 422


def test_a_cut_off_upload_without_its_index_is_not_a_video(tmp_path: Path) -> None:
    # Without faststart the moov (the index) comes last: cut off, nothing says what the file is.
    data = make_clip(tmp_path / "slow.mp4", seconds=1.0, faststart=False).read_bytes()
    with pytest.raises(errors.NotAVideo):
        probe_background(data[: len(data) // 2], **LIMITS)


def test_no_cut_of_a_clip_crashes_the_probe(clip: Path) -> None:
    data = clip.read_bytes()
    for cut in range(0, len(data), 97):
        with pytest.raises(errors.InvalidInput):
            probe_background(data[:cut], **LIMITS)


def test_a_long_clip_is_422_video_too_long(tmp_path: Path) -> None:
    long_clip = make_clip(tmp_path / "long.mp4", seconds=3.0)
    with pytest.raises(errors.VideoTooLong) as refused:
        probe_background(long_clip, **{**LIMITS, "max_seconds": 2.0})
    assert refused.value.code == "video_too_long"
    assert status_for(refused.value) == 422


def test_a_large_file_is_413_before_it_is_opened(clip: Path) -> None:
    with pytest.raises(errors.VideoTooLarge) as refused:
        probe_background(clip, **{**LIMITS, "max_bytes": 1000})
    assert status_for(refused.value) == 413


def test_frames_over_the_pixel_cap_are_refused(clip: Path) -> None:
    with pytest.raises(errors.VideoTooManyPixels):
        probe_background(clip, **{**LIMITS, "max_pixels": 320 * 179})
