"""The fixed tune/holdout split: which speakers may be used to choose settings, which may not.

Settings chosen on the figures of some speakers flatter those speakers; only figures of speakers
never looked at while choosing say how a setting does on people it has never heard. The split is
kept in `split.tsv` beside this module, so it cannot drift with the data or with a run's options,
and `assign_parts` is the rule that wrote it (a test checks the file still follows it):

    within each table (speech-more/, speech-pool/) and gender, sort the speakers by their
    LibriSpeech number; the 1st, 3rd, 5th ... are "tune", the 2nd, 4th, 6th ... "holdout".

Alternating within each gender keeps both parts gender balanced (to one speaker where a gender
has an odd count), and doing it per table gives each table both parts; sorting by number rather
than by any score keeps the choice blind.

The ten speakers of speech/ are all "tune": the engine's settings were chosen on them. The five
LibriSpeech speakers of speech-more/ are among those ten, so a holdout one has had two of its
recordings looked at, but never the eight of speech-more/ that its table scores.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Literal

Part = Literal["tune", "holdout"]
PARTS: tuple[Part, ...] = ("tune", "holdout")
SPLIT_FILE = Path(__file__).with_name("split.tsv")
_NUMBER = re.compile(r"(\d+)$")


def _number(speaker_id: str) -> tuple[int, str]:
    """ "LibriSpeech-87" sorts before "LibriSpeech-103": by number, then by the id itself."""
    found = _NUMBER.search(speaker_id)
    return (int(found.group(1)) if found else -1, speaker_id)


def assign_parts(speakers: Iterable[tuple[str, str]]) -> dict[str, Part]:
    """The split rule on one table's (speaker id, gender) pairs; one listed twice counts once."""
    by_gender: dict[str, set[str]] = {}
    for speaker_id, gender in speakers:
        by_gender.setdefault(gender.strip().upper(), set()).add(speaker_id)
    parts: dict[str, Part] = {}
    for ids in by_gender.values():
        for i, speaker_id in enumerate(sorted(ids, key=_number)):
            parts[speaker_id] = PARTS[i % 2]
    return parts


@cache
def load_split(path: Path = SPLIT_FILE) -> Mapping[tuple[str, str], Part]:
    """(table, speaker id) -> part, as the data file gives it."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    parts: dict[tuple[str, str], Part] = {}
    for row in rows:
        part = row["part"]
        if part not in PARTS:
            raise ValueError(f"{path}: {row['speaker_id']} has part {part!r}")
        parts[row["table"], row["speaker_id"]] = "tune" if part == "tune" else "holdout"
    return parts


def part_of(table: str, speaker_id: str) -> Part:
    """The speaker's part in `table`; the ten of speech/ (not in the file) are all "tune"."""
    return load_split().get((table, speaker_id), "tune")


def wanted(part: Part, choice: str) -> bool:
    """Whether a speaker of `part` is run under `--part choice` (tune, holdout or all)."""
    return choice == "all" or choice == part
