"""The dialogue's audio as an AAC track, written in step with the video so the muxer interleaves."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

import av
import av.container
import numpy as np

if TYPE_CHECKING:
    from voxhub.video.compose import VideoSpec

AAC_FRAME = 1024  # samples per AAC frame


class AudioTrack:
    """Feeds mono float samples through a resampler into FFmpeg's native AAC encoder.

    Timestamps are set here, in samples at the output rate: the resampler's own are not
    guaranteed and the muxer needs them monotonic.
    """

    def __init__(
        self,
        output: av.container.OutputContainer,
        samples: np.ndarray,
        sample_rate: int,
        spec: VideoSpec,
    ) -> None:
        self._output = output
        self._samples = np.clip(np.nan_to_num(samples), -1.0, 1.0).astype(np.float32)
        self._rate_in = sample_rate
        self._channels = spec.audio_channels
        layout = "mono" if spec.audio_channels == 1 else "stereo"
        self._stream = output.add_stream("aac", rate=spec.audio_rate)
        self._stream.layout = layout
        self._stream.bit_rate = spec.audio_bitrate
        self._stream.time_base = Fraction(1, spec.audio_rate)
        self._resampler = av.AudioResampler(
            format="fltp", layout=layout, rate=spec.audio_rate, frame_size=AAC_FRAME
        )
        self._fed = 0  # input samples handed to the resampler
        self._written = 0  # output samples handed to the encoder

    def write_until(self, seconds: float) -> None:
        """Encode the audio up to `seconds` on the timeline."""
        end = min(self._samples.size, round(seconds * self._rate_in))
        if end <= self._fed:
            return
        chunk = self._samples[self._fed : end]
        # Dual mono: the same signal at full level on both sides, as a mono recording plays.
        planes = np.tile(chunk, (self._channels, 1)) if self._channels == 2 else chunk[None, :]
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(planes),
            format="fltp",
            layout="mono" if self._channels == 1 else "stereo",
        )
        frame.sample_rate = self._rate_in
        frame.pts = self._fed
        frame.time_base = Fraction(1, self._rate_in)
        self._fed = end
        self._encode(self._resampler.resample(frame))

    def finish(self) -> None:
        """Write what is left, drain the resampler and the encoder."""
        self.write_until(self._samples.size / self._rate_in)
        self._encode(self._resampler.resample(None))
        self._output.mux(self._stream.encode(None))

    def _encode(self, frames: list[av.AudioFrame]) -> None:
        for frame in frames:
            frame.pts = self._written
            frame.time_base = self._stream.time_base
            self._written += frame.samples
            self._output.mux(self._stream.encode(frame))
