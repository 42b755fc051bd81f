"""The ambience library: beds synthesised in code, deterministic for a seed, at any length.

No recording ships with voxhub (none under a licence we could find here); every bed is made of
coloured noise, filters, slow random modulation and random events (see `voxhub.ambience.dsp`):

- rain: pink-noise hiss (0.5-9 kHz) swelling slowly as the shower thickens and thins, a dense
  patter of tiny high-passed noise ticks (hundreds a second), heavier drops that ring briefly
  on a surface (a damped 1.2-3.5 kHz sine falling in pitch), and a low brown-noise rumble.
- wind: brown-ish noise in three bands (60-250 Hz, 0.2-0.6 kHz, 0.5-1.5 kHz), each swelling on
  its own slow curve, all under one gust envelope (-12 to +6 dB over seconds), and a whistle
  (two narrow resonances, the higher one taking over as a gust peaks).
- office: ventilation (low brown noise and a softer broadband air noise), a faint 50 Hz mains
  hum with harmonics, bursts of keyboard typing (press and release clicks, 6-9 keys a second,
  for seconds at a time), an occasional mouse click, and far-off colleagues' babble.
- cafe: a room full of talk (ten synthetic talkers, low-passed and reverberated until no word
  can be made out, see `voxhub.ambience.babble`), cups and spoons clinking (inharmonic
  damped partials), now and then the espresso machine's steam hiss, and room tone.
- street: traffic rumble, cars passing by (tyre noise swelling and fading over a few seconds
  with an engine drone whose pitch drops as it passes, the Doppler shift), a distant horn
  now and then, and passers-by talking.
- forest: leaves rustling (crackly high-passed noise moved by gusts), a low wind, and birds:
  three kinds of song (phrases of rising, falling and trilled chirps) at different distances,
  with the reverberation of the trees.

Every bed is rendered with a short pre-roll (dropped) so its filters are settled from the first
sample, and normalised to `BED_RMS_DB`; the mixer sets its level relative to the speech.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from voxhub.ambience.babble import babble
from voxhub.ambience.dsp import (
    bandpass,
    coloured,
    db,
    decay,
    drift,
    events,
    highpass,
    limit,
    lowpass,
    raised_cosine,
    resonator,
    reverb,
    rms,
    smooth,
    tone,
    unit_peak,
    unit_rms,
)
from voxhub.core.errors import InvalidInput, UnknownBed

BED_RMS_DB = -20.0
MIN_RATE, MAX_RATE = 8_000, 48_000
MAX_RENDER_S = 600.0
_PREROLL_S = 0.5
_PEAK_DB = -3.0

Recipe = Callable[[np.random.Generator, int, int], np.ndarray]


@dataclass(frozen=True)
class BedInfo:
    name: str
    description: str
    recipe: Recipe


def _swell(
    rng: np.random.Generator, n: int, rate: int, period_s: float, depth_db: float
) -> np.ndarray:
    """A slow gain curve of about +-`depth_db`: intensity that comes and goes."""
    return (10.0 ** (depth_db * drift(rng, n, rate, period_s) / 20.0)).astype(np.float32)


def rain(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    hiss = unit_rms(bandpass(coloured(rng, n, 1.0), 500, 9000, rate))
    rumble = unit_rms(lowpass(coloured(rng, n, 2.0), 250, rate))

    def tick(r: np.random.Generator) -> np.ndarray:
        k = max(8, int(0.004 * rate))
        return highpass(r.standard_normal(k) * decay(k, rate, 0.0008), 2500, rate)

    def drop(r: np.random.Generator) -> np.ndarray:
        k = int(0.04 * rate)
        pitch = r.uniform(1200, 3500) * (1.0 + 0.3 * decay(k, rate, 0.005))
        return tone(np.minimum(pitch, 0.45 * rate), k, rate) * decay(k, rate, 0.006)

    patter = unit_rms(events(rng, n, rate, 400, tick, spread_db=18))
    drops = unit_peak(events(rng, n, rate, 12, drop, spread_db=10))
    return _swell(rng, n, rate, 6.0, 3.0) * (hiss + 0.5 * patter) + 0.3 * rumble + 2.0 * drops


def wind(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    gust = drift(rng, n, rate, 4.0)
    envelope = 10.0 ** ((9.0 * gust - 3.0) / 20.0)
    bands = np.zeros(n, np.float32)
    for lo, hi, period in ((60, 250, 5.0), (200, 600, 3.0), (500, 1500, 2.2)):
        band = unit_rms(bandpass(coloured(rng, n, 1.5), lo, hi, rate))
        bands += band * _swell(rng, n, rate, period, 6.0)
    white = rng.standard_normal(n)
    high = np.clip(gust * 0.5 + 0.5, 0.0, 1.0)  # the higher whistle takes over in a gust
    whistle = (1.0 - high) * unit_rms(resonator(white, 650, 40, rate)) + high * unit_rms(
        resonator(white, 900, 40, rate)
    )
    return envelope * (bands + 0.15 * envelope * whistle)


def office(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    hvac = unit_rms(lowpass(coloured(rng, n, 2.0), 180, rate))
    air = unit_rms(bandpass(coloured(rng, n, 1.0), 200, 3000, rate))
    hum = tone(50.0, n, rate) + 0.5 * tone(100.0, n, rate) + 0.3 * tone(150.0, n, rate)

    def key(r: np.random.Generator) -> np.ndarray:
        k = int(0.02 * rate)
        click = r.standard_normal(k) * decay(k, rate, 0.0012)
        release = np.roll(click * 0.4, int(r.uniform(0.006, 0.012) * rate))
        return highpass(click + release, 1500, rate)

    def mouse(r: np.random.Generator) -> np.ndarray:
        k = int(0.006 * rate)
        return highpass(r.standard_normal(k) * decay(k, rate, 0.0005), 3000, rate)

    typing = unit_peak(events(rng, n, rate, 7.5, key, spread_db=8)) * _gate(
        rng, n, rate, 2, 8, 3, 12
    )
    clicks = unit_peak(events(rng, n, rate, 0.3, mouse, variants=2, spread_db=4))
    talk = unit_rms(reverb(lowpass(babble(rng, n, rate, 4), 1200, rate), rate, 0.5, rng, 0.4))
    return (
        0.6 * hvac + 0.35 * air + 0.08 * hum + 1.5 * typing + 0.6 * clicks + 0.25 * talk
    ).astype(np.float32)


def cafe(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    crowd = lowpass(babble(rng, n, rate, 10), 3000, rate)
    crowd = unit_rms(reverb(crowd, rate, 0.7, rng, 0.35)) * _swell(rng, n, rate, 8.0, 2.0)
    room = unit_rms(lowpass(coloured(rng, n, 1.5), 1500, rate))

    def clink(r: np.random.Generator) -> np.ndarray:
        k = int(0.3 * rate)
        out = np.zeros(k, np.float32)
        for hz, tau in ((2400, 0.12), (5300, 0.06), (7900, 0.04)):
            out += tone(min(hz * r.uniform(0.9, 1.1), 0.45 * rate), k, rate) * decay(k, rate, tau)
        return out

    def steam(r: np.random.Generator) -> np.ndarray:
        k = int(r.uniform(2.5, 4.0) * rate)
        shape = np.minimum(1.0, np.minimum(raised_cosine(k), raised_cosine(k)[::-1]) * 4)
        return bandpass(r.standard_normal(k), 2500, 8000, rate) * shape

    clinks = unit_peak(events(rng, n, rate, 0.5, clink, spread_db=14))
    hiss = events(rng, n, rate, 1 / 40, steam, variants=1, spread_db=3)
    return (crowd + 0.3 * room + 2.5 * clinks + 0.08 * hiss).astype(np.float32)


def street(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    rumble = unit_rms(lowpass(coloured(rng, n, 2.0), 300, rate)) * _swell(rng, n, rate, 8.0, 3.0)
    cars = np.zeros(n, np.float32)
    for centre in rng.uniform(-3.0, n / rate + 3.0, rng.poisson(n / rate / 5.0 + 1)):
        _add_car(rng, cars, rate, centre)

    def horn(r: np.random.Generator) -> np.ndarray:
        k = int(r.uniform(0.25, 0.5) * rate)
        base = r.uniform(380, 460)
        notes = sum(tone(h * base, k, rate) / h for h in (1, 2, 3)) + sum(
            tone(h * base * 1.26, k, rate) / h for h in (1, 2, 3)
        )
        edge = np.minimum(1.0, np.minimum(raised_cosine(k), raised_cosine(k)[::-1]) * 8)
        return lowpass(notes * edge, 2000, rate)

    horns = unit_peak(events(rng, n, rate, 1 / 25, horn, variants=2, spread_db=6))
    people = unit_rms(lowpass(babble(rng, n, rate, 3), 1500, rate))
    return (0.7 * rumble + cars + 0.6 * horns + 0.15 * people).astype(np.float32)


def _add_car(rng: np.random.Generator, out: np.ndarray, rate: int, centre_s: float) -> None:
    """One car passing at `centre_s`: loudest then, its engine's pitch falling as it goes by."""
    half = int(4.0 * rate)
    mid = int(centre_s * rate)
    lo, hi = max(0, mid - half), min(len(out), mid + half)
    if hi <= lo:
        return
    t = (np.arange(lo, hi) - mid) / rate
    closest = rng.uniform(0.6, 1.4)  # s: how fast it goes by
    envelope = 1.0 / (1.0 + (t / closest) ** 2)
    tyres = unit_rms(bandpass(coloured(rng, hi - lo, 1.0), 300, 3000, rate))
    pitch = rng.uniform(70, 120) * (1.0 - 0.05 * np.tanh(t / (0.5 * closest)))
    engine = sum(tone(h * pitch, hi - lo, rate) / h for h in (1, 2, 3, 4))
    level = db(rng.uniform(-8.0, 0.0))
    out[lo:hi] += (level * envelope * (tyres + 0.3 * engine)).astype(np.float32)


def forest(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    gusts = _swell(rng, n, rate, 5.0, 6.0)
    crackle = np.abs(lowpass(rng.standard_normal(n), 30, rate))
    leaves = unit_rms(highpass(coloured(rng, n, 1.0), 1500, rate) * crackle) * gusts
    low = unit_rms(bandpass(coloured(rng, n, 2.0), 80, 400, rate)) * gusts
    birds = np.zeros(n, np.float32)
    for species in range(3):
        birds += events(rng, n, rate, 0.25, _song(species, rate), variants=3, spread_db=15)
    birds = unit_peak(reverb(birds, rate, 0.8, rng, 0.3))
    return (0.5 * leaves + 0.3 * low + 2.0 * birds).astype(np.float32)


def _song(species: int, rate: int) -> Callable[[np.random.Generator], np.ndarray]:
    """A phrase of one bird species: rising (0), falling (1) or trilled (2) chirps."""

    def phrase(r: np.random.Generator) -> np.ndarray:
        parts: list[np.ndarray] = []
        top = 0.45 * rate
        for _ in range(int(r.integers(3, 8))):
            k = int(r.uniform(0.04, 0.12) * rate)
            sweep = np.linspace(0.0, 1.0, k)
            if species == 0:
                f = 2800 + 1800 * sweep
            elif species == 1:
                f = 4800 - 2000 * sweep
            else:
                f = 3600 + 400 * np.sin(2 * np.pi * 30 * sweep * k / rate)
            chirp = tone(np.minimum(f * r.uniform(0.92, 1.08), top), k, rate)
            parts += [
                chirp * np.sin(np.pi * sweep) ** 2,
                np.zeros(int(r.uniform(0.03, 0.08) * rate)),
            ]
        return np.concatenate(parts).astype(np.float32)

    return phrase


def _gate(
    rng: np.random.Generator,
    n: int,
    rate: int,
    on_lo: float,
    on_hi: float,
    off_lo: float,
    off_hi: float,
) -> np.ndarray:
    """On and off stretches (typing, then not) of random lengths, ramped over 20 ms."""
    t = np.arange(n) / rate
    pairs = int(n / rate / (on_lo + off_lo)) + 2
    lengths = np.empty(2 * pairs)
    lengths[0::2] = rng.uniform(on_lo, on_hi, pairs)
    lengths[1::2] = rng.uniform(off_lo, off_hi, pairs)
    on = (np.searchsorted(np.cumsum(lengths), t, side="right") % 2 == 0).astype(np.float32)
    return smooth(on, int(0.02 * rate))


LIBRARY: dict[str, BedInfo] = {
    b.name: b
    for b in (
        BedInfo("rain", "Steady rain: hiss, patter and drops, swelling and easing", rain),
        BedInfo("office", "An open-plan office: ventilation, typing, distant colleagues", office),
        BedInfo("cafe", "A busy cafe: a room of talk, cups and spoons, the espresso machine", cafe),
        BedInfo(
            "street", "A city street: traffic rumble, cars passing, a far horn, passers-by", street
        ),
        BedInfo("forest", "A forest: leaves in the wind and birdsong among the trees", forest),
        BedInfo("wind", "Wind in gusts, low and whistling", wind),
    )
}


def bed_names() -> list[str]:
    return list(LIBRARY)


def check_bed_name(name: str) -> BedInfo:
    info = LIBRARY.get(name)
    if info is None:
        raise UnknownBed(f"no ambience bed {name!r}; choose one of {', '.join(LIBRARY)}", bed=name)
    return info


def render_bed(name: str, seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """`seconds` of the library bed `name` at `rate`, float32 mono at `BED_RMS_DB` RMS.

    Deterministic: the same arguments give the same samples. CPU-bound (vectorised; some 50-100x
    faster than real time): call it from a thread in async code.
    """
    info = check_bed_name(name)
    if not MIN_RATE <= rate <= MAX_RATE:
        raise InvalidInput(f"rate must be {MIN_RATE}-{MAX_RATE} Hz", rate=rate)
    if not 0 < seconds <= MAX_RENDER_S:
        raise InvalidInput(f"seconds must be over 0 and at most {MAX_RENDER_S}", seconds=seconds)
    n = round(seconds * rate)
    pre = int(_PREROLL_S * rate)
    rng = np.random.default_rng([seed, list(LIBRARY).index(name)])
    x = np.asarray(info.recipe(rng, n + pre, rate), np.float64)[pre:]
    x -= x.mean()  # no DC offset, which would thump at the fades
    level = rms(x)
    if level > 0:
        x *= db(BED_RMS_DB) / level
    # Rare peaks (a clink, a near bird) are limited rather than clipped.
    return limit(x.astype(np.float32), rate, _PEAK_DB)
