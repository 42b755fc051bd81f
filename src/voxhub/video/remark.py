"""An MP4 again with its soundtrack replaced: the pictures copied packet for packet, the sound
decoded, changed (watermarked) and encoded again, in step with the pictures."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import av
import numpy as np

from voxhub.video.compose import VideoSpec
from voxhub.video.sound import AudioTrack


def _soundtrack(data: bytes) -> tuple[np.ndarray, int, int, int] | None:
    """The MP4's first audio track as mono float samples, its rate, channels and bit rate."""
    with av.open(io.BytesIO(data), "r") as src:
        if not src.streams.audio:
            return None
        stream = src.streams.audio[0]
        parts = [
            frame.to_ndarray().reshape(stream.channels, -1).mean(axis=0)
            for frame in src.decode(stream)
        ]
        rate, channels = stream.rate, stream.channels
        bitrate = stream.bit_rate or VideoSpec.audio_bitrate
    samples = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
    return samples, rate, channels, bitrate


def with_new_soundtrack(
    data: bytes,
    change: Callable[[np.ndarray, int], np.ndarray],
    tags: Mapping[str, str],
) -> bytes:
    """`data` (an MP4) with its sound replaced by `change(sound, rate)` and `tags` as its
    metadata; an MP4 without sound is returned as it is. Blocking: run it in a thread.

    The composer writes dual mono, so a mono mean loses nothing of the sound it wrote."""
    track = _soundtrack(data)
    if track is None:
        return data
    samples, rate, channels, bitrate = track
    changed = change(samples, rate)
    spec = VideoSpec(audio_rate=rate, audio_channels=min(2, channels), audio_bitrate=bitrate)
    with tempfile.TemporaryDirectory() as tmp:
        # A file, not a buffer: faststart moves the index to the front in a second pass.
        out_path = Path(tmp) / "remarked.mp4"
        flags = "+faststart+use_metadata_tags"
        with (
            av.open(io.BytesIO(data), "r") as src,
            av.open(str(out_path), "w", format="mp4", options={"movflags": flags}) as out,
        ):
            out.metadata.update(tags)
            pictures = src.streams.video[0]
            copy = out.add_stream_from_template(pictures)
            sound = AudioTrack(out, changed, rate, spec)
            for packet in src.demux(pictures):
                if packet.size == 0:  # the empty packet that ends demuxing
                    continue
                # Read before the packet moves to the copy (its time base may change with it).
                shown_until = None
                if packet.pts is not None and packet.time_base is not None:
                    shown_until = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                packet.stream = copy
                out.mux(packet)
                if shown_until is not None:
                    sound.write_until(shown_until)
            sound.finish()
        return out_path.read_bytes()
