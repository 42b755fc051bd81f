"""The fixed tune/holdout split: the file follows its rule, covers every speaker, is balanced."""

from __future__ import annotations

import csv
import random
from collections import Counter
from pathlib import Path

from voxhub.evaluation.split import SPLIT_FILE, assign_parts, load_split, part_of

TABLE_FOLDERS = {"more": "speech-more", "pool": "speech-pool"}


def _manifest_speakers(shared: Path, folder: str) -> dict[str, str]:
    with (shared / "data" / folder / "MANIFEST.tsv").open(newline="", encoding="utf-8") as f:
        return {r["speaker_id"]: r["gender"] for r in csv.DictReader(f, delimiter="\t")}


def _rows() -> list[dict[str, str]]:
    with SPLIT_FILE.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_rule_sorts_by_number_and_alternates_within_gender() -> None:
    parts = assign_parts(
        [("LibriSpeech-103", "F"), ("LibriSpeech-87", "F"), ("LibriSpeech-5", "m"),
         ("LibriSpeech-226", "F"), ("LibriSpeech-40", "M")]
    )  # fmt: skip
    assert parts == {
        "LibriSpeech-87": "tune",
        "LibriSpeech-103": "holdout",
        "LibriSpeech-226": "tune",
        "LibriSpeech-5": "tune",
        "LibriSpeech-40": "holdout",
    }


def test_rule_does_not_depend_on_input_order() -> None:
    speakers = [(f"LibriSpeech-{n}", "FM"[n % 2]) for n in range(1, 40, 3)]
    shuffled = speakers[:]
    random.Random(4).shuffle(shuffled)
    assert assign_parts(shuffled) == assign_parts(speakers)


def test_file_follows_the_rule_and_covers_every_table_speaker(shared: Path) -> None:
    rows = _rows()
    for table, folder in TABLE_FOLDERS.items():
        speakers = _manifest_speakers(shared, folder)
        in_file = {r["speaker_id"]: r for r in rows if r["table"] == table}
        assert set(in_file) == set(speakers), table
        assert {s: r["gender"] for s, r in in_file.items()} == speakers
        assert {s: r["part"] for s, r in in_file.items()} == assign_parts(speakers.items())


def test_parts_are_disjoint_and_gender_balanced() -> None:
    rows = _rows()
    ids = [r["speaker_id"] for r in rows]
    assert len(ids) == len(set(ids))  # one part per speaker
    counts = Counter((r["table"], r["gender"], r["part"]) for r in rows)
    for table in TABLE_FOLDERS:
        for gender in "FM":
            assert abs(counts[table, gender, "tune"] - counts[table, gender, "holdout"]) <= 1
    # The pool: 30 of each gender, so exactly 15 in each part.
    assert {counts["pool", g, p] for g in "FM" for p in ("tune", "holdout")} == {15}
    assert counts["more", "F", "holdout"] == counts["more", "M", "holdout"] == 1


def test_the_ten_are_tune_and_parts_are_per_table() -> None:
    assert not any(table == "ten" for table, _ in load_split())
    assert part_of("ten", "VCTK-p225") == "tune"
    # One reader of speech/ and speech-more/: tune among the ten, held out in its own table.
    assert part_of("ten", "LibriSpeech-2033") == "tune"
    assert part_of("more", "LibriSpeech-2033") == "holdout"
    assert part_of("pool", "LibriSpeech-103") == "holdout"
    assert part_of("pool", "LibriSpeech-87") == "tune"
