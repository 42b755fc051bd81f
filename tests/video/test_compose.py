"""Composing a dialogue video, then decoding it back with PyAV to check what a viewer gets."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.video.clips import decoded_frames, image_bytes, level, make_clip, top_level_boxes
from voxhub.video.compose import RenderStopped, Shot, VideoSpec, compose
from voxhub.video.cues import Cue
from voxhub.video.layers import Layout

RATE = 24_000
GREEN = (0, 200, 0)
SMALL = VideoSpec(width=320, height=180, fps=10)


def speech(seconds: float) -> np.ndarray:
    """A tone with a slow wobble: enough to be audio, quick to make."""
    t = np.arange(round(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 200 * t) * (0.6 + 0.4 * np.sin(t * 3))).astype(np.float32)


def dialogue(seconds: float) -> tuple[list[Shot], list[Cue]]:
    """Three shots of two speakers (Ana with a green image, Ben with none) and two cues.

    The first cue ends at 0.8 s and the next begins at 1.4 s: a gap while Ana is still shown.
    """
    third = seconds / 3
    ana = image_bytes(GREEN)
    shots = [
        Shot(0.0, third, ana, "Ana"),
        Shot(third, 2 * third, None, "Ben"),
        Shot(2 * third, seconds, ana, "Ana"),
    ]
    cues = [Cue(0.1, 0.8, "Hello Ben, how are you?"), Cue(third + 0.1, 2 * third, "Fine.")]
    return shots, cues


def caption_region(frame: np.ndarray, spec: VideoSpec) -> np.ndarray:
    layout = Layout(spec.width, spec.height)
    top = layout.bottom - 2 * layout.line_height
    return frame[top : layout.bottom, layout.side : spec.width - layout.side].astype(int)


def speaker_centre(frame: np.ndarray, spec: VideoSpec) -> np.ndarray:
    layout = Layout(spec.width, spec.height)
    y = (layout.top + layout.speaker_bottom) // 2
    return frame[y, spec.width // 2].astype(int)


def test_a_720p_video_has_the_streams_length_and_layout_players_expect(tmp_path: Path) -> None:
    seconds = 3.0
    shots, cues = dialogue(seconds)
    out = tmp_path / "dialogue.mp4"
    result = compose(out, speech(seconds), RATE, shots, cues, background=None)

    assert (result.width, result.height) == (1280, 720)
    assert result.size_bytes == out.stat().st_size > 0
    assert result.frames == 90
    with av.open(str(out)) as container:
        (video,) = container.streams.video
        (audio,) = container.streams.audio
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert (video.width, video.height) == (1280, 720)
        assert audio.codec_context.name == "aac"
        assert audio.sample_rate == 48_000
        assert container.duration is not None
        assert abs(container.duration / av.time_base - seconds) < 0.1
        decoded = sum(1 for _ in container.decode(video=0))
        assert decoded == result.frames
    boxes = top_level_boxes(out.read_bytes())
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # faststart: plays while downloading


def test_captions_and_speakers_appear_when_they_should(tmp_path: Path) -> None:
    seconds = 3.0
    shots, cues = dialogue(seconds)
    out = tmp_path / "plain.mp4"
    compose(out, speech(seconds), RATE, shots, cues, background=None, spec=SMALL)
    frames = decoded_frames(out)
    during_cue, in_gap, later_in_gap, ben = frames[5], frames[9], frames[8], frames[15]

    caption_change = np.abs(caption_region(during_cue, SMALL) - caption_region(in_gap, SMALL))
    assert caption_change.mean() > 10, "the caption should be drawn during its cue"
    still = np.abs(caption_region(in_gap, SMALL) - caption_region(later_in_gap, SMALL))
    assert still.max() < 12, "no caption in the gap between cues"
    # White text: the caption region holds near-white pixels only while the cue is up.
    assert (caption_region(during_cue, SMALL).min(axis=2) > 200).sum() > 50
    assert (caption_region(in_gap, SMALL).min(axis=2) > 200).sum() == 0

    r, g, b = speaker_centre(in_gap, SMALL)
    assert g > 150 and r < 60 and b < 60, "Ana's green image is shown while she speaks"
    r, g, b = speaker_centre(ben, SMALL)
    assert not (g > 150 and r < 60), "Ben has no image: his name card is shown instead"


def test_a_short_background_clip_loops(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "short.mp4", seconds=1.0)  # 10 frames at 10 fps
    out = tmp_path / "looped.mp4"
    compose(out, speech(2.5), RATE, *dialogue(2.5), background=clip, spec=SMALL)
    corner = [int(f[4:12, 4:12].mean()) for f in decoded_frames(out)]  # away from the overlay
    assert len(corner) == 25
    for i, grey in enumerate(corner):
        assert abs(grey - level(i % 10)) <= 6, (i, corner)


def test_a_long_background_clip_is_trimmed_to_the_audio(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "long.mp4", seconds=3.0)
    out = tmp_path / "trimmed.mp4"
    result = compose(out, speech(1.2), RATE, *dialogue(1.2), background=clip, spec=SMALL)
    assert result.frames == 12
    with av.open(str(out)) as container:
        assert container.duration is not None
        assert abs(container.duration / av.time_base - 1.2) < 0.1
    corner = [int(f[4:12, 4:12].mean()) for f in decoded_frames(out)]
    assert [abs(grey - level(i)) <= 6 for i, grey in enumerate(corner)] == [True] * 12


def test_a_background_of_another_shape_is_scaled_to_cover(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "square.mp4", seconds=0.5, size=(120, 120))
    out = tmp_path / "covered.mp4"
    compose(out, speech(0.5), RATE, [], [], background=clip, spec=SMALL)
    first = decoded_frames(out)[0].astype(int)
    # Every pixel comes from the clip (no bars): the whole frame is the clip's first grey.
    assert np.abs(first - level(0)).max() <= 8


def test_progress_rises_to_one(tmp_path: Path) -> None:
    seen: list[float] = []
    compose(tmp_path / "p.mp4", speech(2.0), RATE, [], [], None, SMALL, progress=seen.append)
    assert seen == sorted(seen)
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert len(seen) >= 4


def test_should_stop_ends_the_render_and_leaves_no_file(tmp_path: Path) -> None:
    asked = []

    def stop_on_third_ask() -> bool:
        asked.append(True)
        return len(asked) >= 3

    out = tmp_path / "stopped.mp4"
    with pytest.raises(RenderStopped):
        compose(out, speech(3.0), RATE, *dialogue(3.0), None, SMALL, should_stop=stop_on_third_ask)
    assert len(asked) == 3
    assert list(tmp_path.iterdir()) == []


def test_a_render_that_fails_midway_leaves_no_file(tmp_path: Path) -> None:
    def fail_after_a_while(fraction: float) -> None:
        if fraction > 0.3:
            raise RuntimeError("the job's store went away")

    out = tmp_path / "failed.mp4"
    with pytest.raises(RuntimeError, match="went away"):
        compose(out, speech(2.0), RATE, [], [], None, SMALL, progress=fail_after_a_while)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_background_fails_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(av.FFmpegError):
        compose(tmp_path / "x.mp4", speech(1.0), RATE, [], [], tmp_path / "gone.mp4", SMALL)
    assert list(tmp_path.iterdir()) == []


def test_stereo_and_a_bitrate_are_honoured(tmp_path: Path) -> None:
    spec = VideoSpec(width=320, height=180, fps=10, video_bitrate=300_000, audio_channels=2)
    out = tmp_path / "stereo.mp4"
    compose(out, speech(1.0), 16_000, [], [], None, spec)
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.layout.name == "stereo"


@pytest.mark.parametrize("side", [321, 0, 10_000])
def test_odd_or_absurd_sizes_are_refused(side: int) -> None:
    with pytest.raises(ValueError, match="even"):
        VideoSpec(width=side)


def test_empty_audio_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        compose(tmp_path / "x.mp4", np.zeros(0, np.float32), RATE, [], [], None, SMALL)
