"""probe() and decode(): every container we accept, every limit, and hostile input."""

from __future__ import annotations

import contextlib
import io
import json
import re
import struct
import time

import av
import numpy as np
import pytest

from tests.audio.conftest import RATE, correlation, envelope_similarity, make_media
from tests.conftest import ODD, SPEECH
from tests.media import HTML, PNG, lying_flac, zip_bytes
from voxhub.api.errors import domain_problem
from voxhub.audio.decode import decode, probe
from voxhub.core.errors import (
    AudioParametersRejected,
    AudioTooLong,
    AudioUndecodable,
    InvalidInput,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from voxhub.settings import LimitSettings


def _s16(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


def _wav_header(rate: int, channels: int, bits: int, data_bytes: int, fmt: int = 1) -> bytes:
    block = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, rate * block, block, bits)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt_chunk
        + b"data"
        + struct.pack("<I", data_bytes)
    )


# (file, duration from MANIFEST.tsv, sample rate, channels, has video)
SHARED_FILES = [
    (SPEECH / "vctk_p225_003.wav", 6.01, 16000, 1, False),
    (SPEECH / "ljspeech_LJ001-0001.wav", 9.655, 22050, 1, False),
    (SPEECH / "librispeech_1688-142285-0000.flac", 15.0, 16000, 1, False),
    (ODD / "format_mono_8bit_one-two-three.wav", 2.745, 44100, 1, False),
    (ODD / "silence_almost_silent.wav", 0.625, 48000, 1, False),
    (ODD / "silence_digital_silence.wav", 0.625, 48000, 1, False),
    (ODD / "lowbitrate_vctk_p240_00000.mp3", 4.941, 24000, 1, False),
    (ODD / "music_trumpet_sorohanro_solo-trumpet-06.ogg", 5.333, 22050, 1, False),
    (ODD / "nonenglish_fr_french.aiff", 2.533, 44100, 1, False),
    (ODD / "video_auto-editor_example.mp4", 42.4, 48000, 2, True),
]


@pytest.mark.parametrize(
    "path,duration,rate,channels,video", SHARED_FILES, ids=[f[0].name for f in SHARED_FILES]
)
def test_decode_shared_files(path, duration, rate, channels, video, limits) -> None:
    data = path.read_bytes()
    info = probe(data, limits)
    assert (info.sample_rate, info.channels, info.has_video) == (rate, channels, video)
    audio = decode(data, limits, RATE, info)
    assert audio.sample_rate == RATE
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert abs(audio.duration - duration) < 0.05
    assert np.isfinite(audio.samples).all() and np.abs(audio.samples).max() <= 1.0


# (id, container, codec, make_media kwargs, lossless)
MADE = [
    ("wav-u8", "wav", "pcm_u8", {}, True),
    ("wav-s16", "wav", "pcm_s16le", {}, True),
    ("wav-s24", "wav", "pcm_s24le", {}, True),
    ("wav-f32", "wav", "pcm_f32le", {}, True),
    ("flac", "flac", "flac", {}, True),
    ("aiff", "aiff", "pcm_s16be", {}, True),
    ("mp3", "mp3", "libmp3lame", {}, False),
    ("m4a-aac", "ipod", "aac", {}, False),
    # FFmpeg's own Vorbis encoder only writes stereo; that also exercises the downmix.
    ("ogg-vorbis", "ogg", "vorbis", {"channels": 2, "options": {"strict": "experimental"}}, False),
    ("ogg-opus", "ogg", "libopus", {}, False),
    ("webm-opus", "webm", "libopus", {}, False),
    ("mp4-h264-aac", "mp4", "aac", {"video_codec": "libx264"}, False),
    ("mkv-mpeg4-aac", "matroska", "aac", {"video_codec": "mpeg4"}, False),
    ("mov-mpeg4-aac", "mov", "aac", {"video_codec": "mpeg4"}, False),
    ("webm-vp8-opus", "webm", "libopus", {"video_codec": "libvpx"}, False),
]


@pytest.mark.parametrize(
    "container,codec,kwargs,lossless", [m[1:] for m in MADE], ids=[m[0] for m in MADE]
)
def test_decode_made_formats(container, codec, kwargs, lossless, speech, limits) -> None:
    # Opus only runs at 48 kHz here; hand it the same speech resampled.
    rate = 48_000 if codec == "libopus" else RATE
    source = speech if rate == RATE else np.repeat(speech, 2)
    data = make_media(source, rate, container, codec, **kwargs)
    info = probe(data, limits)
    assert info.has_video == ("video_codec" in kwargs)
    assert info.channels == kwargs.get("channels", 1)
    audio = decode(data, limits, RATE, info)
    assert abs(audio.duration - len(speech) / RATE) < 0.03
    if lossless:
        assert correlation(speech, audio.samples) > 0.999
    else:
        assert envelope_similarity(speech, audio.samples, RATE) > 0.98


def test_decode_resamples_to_any_target(speech, limits) -> None:
    data = make_media(speech, RATE, "wav", "pcm_s16le")
    for target in (8000, 16000, 44100, 48000):
        audio = decode(data, limits, target)
        assert audio.sample_rate == target
        assert abs(audio.duration - len(speech) / RATE) < 0.01


def test_stereo_downmix_averages_channels(limits) -> None:
    t = np.arange(RATE) / RATE
    left, right = 0.4 * np.sin(2 * np.pi * 300 * t), 0.2 * np.sin(2 * np.pi * 300 * t)
    pcm = (np.stack([left, right], axis=1) * 32767).astype("<i2").tobytes()
    data = _wav_header(RATE, 2, 16, len(pcm)) + pcm
    audio = decode(data, limits, RATE)
    assert abs(np.abs(audio.samples).max() - 0.3) < 0.01


# --- limits -------------------------------------------------------------------------------------


def test_lying_flac_header_is_refused_by_probe_fast(limits) -> None:
    data = lying_flac()  # 7 MB; STREAMINFO says 1 h at 192 kHz x 8 channels
    start = time.perf_counter()
    with pytest.raises(AudioTooLong) as err:
        probe(data, limits)
    assert time.perf_counter() - start < 2.0
    assert err.value.extra["duration_s"] == 3600 and err.value.extra["limit_s"] == 300


@pytest.mark.parametrize(
    "rate,channels,exc",
    [
        (192_000, 2, AudioParametersRejected),
        (16_000, 8, None),
        (96_000, 1, AudioParametersRejected),
    ],
)
def test_flac_header_parameters(rate, channels, exc) -> None:
    data = lying_flac(seconds=10, rate=rate, channels=channels)
    limits = LimitSettings()
    if exc is None:
        # Passes the header checks, then fails honestly: there is no frame to decode.
        with pytest.raises(AudioUndecodable):
            probe(data, limits)
    else:
        with pytest.raises(exc):
            probe(data, limits)


def test_decode_caps_audio_when_the_header_understates_it(speech) -> None:
    # A real FLAC holding 20 s whose STREAMINFO claims 2 s: probe believes it, decode must not.
    data = bytearray(make_media(np.tile(speech, 4)[: 20 * RATE], RATE, "flac", "flac"))
    packed = int.from_bytes(data[18:26], "big")
    data[18:26] = ((packed >> 36 << 36) | (2 * RATE)).to_bytes(8, "big")
    small = LimitSettings(max_reference_seconds=5)
    assert probe(bytes(data), small).duration_s == pytest.approx(2.0)
    with pytest.raises(AudioTooLong) as err:
        decode(bytes(data), small, RATE)
    assert err.value.extra["limit_s"] == 5


def test_wav_hiding_audio_in_a_second_data_chunk_is_refused(speech) -> None:
    # FFmpeg's WAV reader follows the last data chunk, so the header check already sees it.
    first = _s16(speech[: 2 * RATE])
    second = _s16(np.tile(speech, 4))
    data = _wav_header(RATE, 1, 16, len(first)) + first + b"data" + struct.pack("<I", len(second))
    data += second
    with pytest.raises(AudioTooLong):
        decode(data, LimitSettings(max_reference_seconds=5), RATE)


def test_video_gets_the_video_duration_limit(speech) -> None:
    small = LimitSettings(max_reference_seconds=3, max_video_seconds=10)
    video = make_media(speech, RATE, "mp4", "aac", video_codec="mpeg4")
    assert decode(video, small, RATE).duration > 5
    audio_only = make_media(speech, RATE, "ipod", "aac")
    with pytest.raises(AudioTooLong):
        probe(audio_only, small)


def test_payload_too_large() -> None:
    with pytest.raises(PayloadTooLarge):
        probe(b"\x00" * 2048, LimitSettings(max_upload_bytes=1024))


# --- hostile and broken input ---------------------------------------------------------------------


def _bad_inputs() -> list[tuple[str, bytes, type[InvalidInput]]]:
    mp3 = (ODD / "lowbitrate_vctk_p240_00000.mp3").read_bytes()
    nan = np.full(RATE, np.nan, np.float32).tobytes()
    inf = np.full(RATE, np.inf, np.float32).tobytes()
    video = bytearray((ODD / "video_auto-editor_example.mp4").read_bytes())
    # Garbage over the middle of the AAC track: decodes to frames claiming 27 channels at 96 kHz.
    video[1_000_000:2_000_000] = np.random.default_rng(1).bytes(1_000_000)
    return [
        ("empty", b"", UnsupportedMediaType),
        ("png", PNG, UnsupportedMediaType),
        ("html", HTML, UnsupportedMediaType),
        ("zip", zip_bytes(), UnsupportedMediaType),
        ("random", np.random.default_rng(0).bytes(50_000), UnsupportedMediaType),
        (
            "m3u8",
            b"#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
            UnsupportedMediaType,
        ),
        ("concat", b"ffconcat version 1.0\nfile /etc/passwd\n", UnsupportedMediaType),
        ("mp3-first-3kB", mp3[:3000], AudioUndecodable),
        ("wav-header-only", _wav_header(RATE, 1, 16, 48_000), AudioUndecodable),
        ("wav-nan", _wav_header(RATE, 1, 32, len(nan), fmt=3) + nan, AudioUndecodable),
        ("wav-inf", _wav_header(RATE, 1, 32, len(inf), fmt=3) + inf, AudioUndecodable),
        (
            "wav-65-channels",
            _wav_header(RATE, 65, 16, 65 * 2000) + bytes(65 * 2000),
            AudioParametersRejected,
        ),
        ("wav-0-channels", _wav_header(RATE, 0, 16, 2000) + bytes(2000), AudioParametersRejected),
        ("wav-rate-0", _wav_header(0, 1, 16, 2000) + bytes(2000), AudioParametersRejected),
        ("wav-96k", _wav_header(96_000, 1, 16, 2000) + bytes(2000), AudioParametersRejected),
        ("mp4-corrupt-middle", bytes(video), AudioUndecodable),
        ("mp4-cut-before-moov", bytes(video[:500_000]), AudioUndecodable),
    ]


BAD_INPUTS = _bad_inputs()


@pytest.mark.parametrize("name,data,exc", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_raises_the_right_error(name, data, exc, limits) -> None:
    with pytest.raises(exc):
        decode(data, limits, RATE)


def test_video_without_audio_is_unsupported(limits) -> None:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(UnsupportedMediaType):
        probe(buf.getvalue(), limits)


def test_random_damage_never_escapes_as_another_error(speech, limits) -> None:
    sources = [
        make_media(speech[: 3 * RATE], RATE, "mp3", "libmp3lame"),
        make_media(speech[: 3 * RATE], RATE, "ipod", "aac"),
        make_media(np.repeat(speech[: 3 * RATE], 2), 48_000, "ogg", "libopus"),
        make_media(speech[: 3 * RATE], RATE, "flac", "flac"),
        make_media(speech[: 3 * RATE], RATE, "matroska", "aac", video_codec="mpeg4"),
    ]
    rng = np.random.default_rng(7)
    for source in sources:
        for _ in range(8):
            damaged = bytearray(source)
            pos = int(rng.integers(0, len(damaged)))
            damaged[pos : pos + 500] = rng.bytes(len(damaged[pos : pos + 500]))
            with contextlib.suppress(InvalidInput):
                decode(bytes(damaged), limits, RATE)


STANDARD_MEMBERS = {"type", "title", "status", "code", "detail"}


def _ffmpeg_words(data: bytes) -> list[str]:
    """What PyAV itself says about `data`, opening and decoding it plainly."""
    said = []
    try:
        with av.open(io.BytesIO(data)) as container:
            for _ in container.decode(audio=0):
                pass
    except Exception as exc:
        said.append(str(exc))
    return [s for s in said if s]


@pytest.mark.parametrize("name,data,exc", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_ffmpeg_error_text_never_reaches_the_client(name, data, exc, limits) -> None:
    with pytest.raises(exc) as refused:
        decode(data, limits, RATE)
    body = domain_problem(refused.value).body.decode()
    for words in _ffmpeg_words(data):
        assert words not in body
    # Beyond the standard members only numbers and names (a container, a codec), never prose.
    extra = {k: v for k, v in json.loads(body).items() if k not in STANDARD_MEMBERS}
    for value in extra.values():
        assert isinstance(value, int | float) or re.fullmatch(r"[a-z0-9_.,-]{1,40}", value), value
