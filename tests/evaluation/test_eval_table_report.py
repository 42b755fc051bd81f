"""The tables' summary: parts kept apart, gating, per-gender means, targets on holdout only."""

from __future__ import annotations

from typing import Any

import pytest

from voxhub.evaluation import report
from voxhub.evaluation.table_report import checks, side_by_side, summarise_table


def _row(speaker: str, gender: str, part: str, norm: float, wer: float = 0.0) -> dict[str, Any]:
    profile = {"normalised": norm, "wer": wer, "dnsmos": 3.2}
    return {
        "speaker": speaker,
        "gender": gender,
        "part": part,
        "targets": [{"file": "t"}],
        "same": 0.9,
        "stranger": 0.6,
        "profiles": {"refined": profile},
    }


ROWS = [
    _row("a", "F", "holdout", 0.5),
    _row("b", "M", "holdout", 0.7),
    _row("c", "M", "holdout", 0.9, wer=0.5),  # unintelligible: counts as 0
    _row("d", "F", "tune", 0.1),
]


def test_parts_are_summarised_apart_and_gated() -> None:
    summary = summarise_table(ROWS)
    holdout, tune = summary["holdout"]["refined"], summary["tune"]["refined"]
    assert holdout["speakers"] == 3 and tune["speakers"] == 1
    assert holdout["normalised"]["mean"] == pytest.approx((0.5 + 0.7 + 0.0) / 3, abs=1e-4)
    assert holdout["normalised_by_gender"] == {"F": 0.5, "M": 0.35}
    assert holdout["gated_out"] == ["c"]
    assert "instant" not in summary["holdout"]  # no instant profile in these rows


def test_targets_bind_holdout_only_and_by_table() -> None:
    summary = summarise_table(ROWS)
    more = checks("more", "holdout", "refined", summary["holdout"]["refined"])
    # mean 0.4 < 0.45; worst gender 0.35 >= 0.35; WER mean 16.7 % > 3 %; DNSMOS 3.2 >= 3.
    assert more == {"normalised": False, "gender": True, "wer": False, "dnsmos": True}
    pool = checks("pool", "holdout", "refined", summary["holdout"]["refined"])
    assert pool == {"normalised": False, "wer": False, "dnsmos": True}  # no gender target
    assert checks("more", "tune", "refined", summary["tune"]["refined"]) == {}


def test_markdown_puts_the_tables_side_by_side() -> None:
    tables = {"more": {"summary": summarise_table(ROWS), "speakers": ROWS}}
    lines = side_by_side(tables)
    assert lines[0].startswith("| figure | more · tune | more · holdout | target")
    refined = next(line for line in lines if line.startswith("| refined: normalised similarity"))
    assert "0.400 [" in refined and "✗" in refined
    text = report.markdown(
        {
            "date": "2026-01-01",
            "machine": {k: "?" for k in ("cpu", "cores", "ram_gib", "load_average", "python")}
            | {"onnxruntime": "?", "ctranslate2": "?"},
            "engine": {"name": "fake", "version": "1"},
            "recognizer": "tiny.en",
            "config": {"sentences": ["x"], "refine": "on", "table_speakers": {"more": 4}},
            "tables": tables,
            "speakers": [],
        }
    )
    assert "## more: per speaker" in text and "## Ten speakers" not in text
