"""Summaries, the Markdown table and the result files of an evaluation run."""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Callable
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from voxhub.evaluation import table_report
from voxhub.evaluation.speakers import gated_mean

MAX_WER = 0.3
KINDS = {"instant": "instant", "refined": "refined", "stock": "best stock pack"}
Check = dict[str, Callable[[float], bool]]


def _at_least(x: float, *kinds: str) -> Check:
    return {k: (lambda v: v >= x) for k in kinds}


def _at_most(x: float, *kinds: str) -> Check:
    return {k: (lambda v: v <= x) for k in kinds}


_ALL = tuple(KINDS)
# The summary table: (key, label, target as printed, which kinds it binds and how).
ROWS: list[tuple[str, str, str, Check]] = [
    ("normalised_mean", "normalised similarity (gated mean)", "≥ 0.30 refined, ≥ 0.10 instant",
     _at_least(0.10, "instant") | _at_least(0.30, "refined")),
    ("normalised_mean_ungated", "normalised similarity (plain mean)", "", {}),
    ("similarity_mean", "raw cosine to the held-out recording", "", {}),
    ("wer_mean", "WER (mean over speakers)", "≤ 5 %", _at_most(0.05, *_ALL)),
    ("wer_max", "WER (worst speaker)", "", {}),
    ("dnsmos_mean", "DNSMOS overall", "", {}),
    ("rtf_mean", "real-time factor", "≤ 0.5", _at_most(0.5, *_ALL)),
    ("cpu_per_audio_s_mean", "CPU s per audio s (all threads)", "", {}),
    ("first_chunk_s_median", "first chunk, s (median)", "≤ 0.8", _at_most(0.8, *_ALL)),
    ("first_chunk_s_max", "first chunk, s (worst)", "", {}),
    ("time_s_mean", "enrolment / refinement, s (mean)", "≤ 2 instant, ≤ 180 refined",
     _at_most(2.0, "instant") | _at_most(180.0, "refined")),
    ("time_s_max", "enrolment / refinement, s (worst)", "", {}),
]  # fmt: skip


def _pkg(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """Where the numbers were taken: CPU, cores, memory, load, Python and runtime versions."""
    cpu, mem_gib = platform.processor() or platform.machine(), float("nan")
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 1024**2
    except OSError:
        pass  # not Linux: keep what platform knows
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(mem_gib, 1),
        # The machine is shared: a busy neighbour slows every timing down.
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": _pkg("onnxruntime"),
        "ctranslate2": _pkg("ctranslate2"),
        "faster_whisper": _pkg("faster-whisper"),
        "torch": _pkg("torch"),
    }


def _mean(xs: list[float]) -> float | None:
    return round(statistics.fmean(xs), 4) if xs else None


def summarise(speakers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Means per profile kind; similarity counts 0 for a speaker whose output WER > 0.3."""
    out: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        rows = [(s["speaker"], s["profiles"][kind]) for s in speakers if kind in s["profiles"]]
        if not rows:
            continue
        p = [r for _, r in rows]
        norms, wers = [r["normalised"] for r in p], [r["wer"] for r in p]
        times = [r["time_s"] for r in p if "time_s" in r]
        chunks = [r["first_chunk_s"] for r in p]
        out[kind] = {
            "speakers": len(p),
            "similarity_mean": _mean([r["similarity"] for r in p]),
            "normalised_mean": round(gated_mean(norms, wers, MAX_WER), 4),
            "normalised_mean_ungated": _mean(norms),
            "gated_out": [sid for sid, r in rows if r["wer"] > MAX_WER],
            "wer_mean": _mean(wers),
            "wer_max": max(wers),
            "rtf_mean": _mean([r["rtf"] for r in p]),
            "cpu_per_audio_s_mean": _mean([r["cpu_per_audio_s"] for r in p]),
            "first_chunk_s_median": round(statistics.median(chunks), 3),
            "first_chunk_s_max": max(chunks),
            "dnsmos_mean": _mean([r["dnsmos"] for r in p if r["dnsmos"] is not None]),
            "time_s_mean": _mean(times),
            "time_s_max": max(times) if times else None,
        }
    return out


def summarise_real(real: list[dict[str, Any]]) -> dict[str, Any]:
    """The recogniser's pooled WER and the mean DNSMOS on the original recordings."""
    scored = [r for r in real if "wer" in r]
    words = sum(r["words"] for r in scored)
    errors = sum(r["wer"] * r["words"] for r in scored)
    return {
        "recordings_with_transcript": len(scored),
        "wer_pooled": round(errors / words, 4) if words else None,
        "wer_mean": _mean([r["wer"] for r in scored]),
        "dnsmos_mean": _mean([r["dnsmos"] for r in real if "dnsmos" in r]),
    }


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{100 * v:.1f} %" if pct else f"{v:.3f}"
    return str(v)


def _mark(ok: bool | None) -> str:
    return "" if ok is None else (" ✓" if ok else " ✗")


def _summary_rows(summary: dict[str, dict[str, Any]]) -> list[str]:
    kinds = [k for k in KINDS if k in summary]
    rows = [
        "| metric | " + " | ".join(KINDS[k] for k in kinds) + " | target |",
        "|---" * (len(kinds) + 2) + "|",
    ]
    for key, label, target, checks in ROWS:
        cells = []
        for kind in kinds:
            v = summary[kind].get(key)
            check = checks.get(kind)
            ok = None if v is None or check is None else check(v)
            cells.append(_fmt(v, pct=key.startswith("wer")) + _mark(ok))
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    return rows


def _speaker_rows(speakers: list[dict[str, Any]], kinds: list[str]) -> list[str]:
    head = ["speaker", "g", "same", "stranger"]
    for kind in kinds:
        head += [f"{kind} sim", f"{kind} norm", f"{kind} WER", f"{kind} DNSMOS"]
    head += ["stock pack", "enrol s", "refine s", "RTF", "1st chunk s"]
    rows = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for s in speakers:
        p = s["profiles"]
        cells = [s["speaker"], s["gender"], _fmt(s["same"]), _fmt(s["stranger"])]
        for kind in kinds:
            r = p.get(kind, {})
            gated = " (WER>0.3)" if r.get("wer", 0) > MAX_WER else ""
            cells += [
                _fmt(r.get("similarity")),
                _fmt(r.get("normalised")) + gated,
                _fmt(r.get("wer"), pct=True),
                _fmt(r.get("dnsmos")),
            ]
        inst = p["instant"]
        cells += [
            p.get("stock", {}).get("pack", "-"),
            _fmt(inst.get("time_s")),
            _fmt(p.get("refined", {}).get("time_s")),
            _fmt(inst["rtf"]),
            _fmt(inst["first_chunk_s"]),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


TABLE_TITLES = {
    "ten": "ten speakers of speech/, enrolled on one recording, scored against the other",
    "more": "speech-more/: enrolled on the longest recording, scored against each other one",
    "pool": "speech-pool/: one utterance cut at the pause nearest half its speech (else at the "
    "quietest moment near half; the row's `cut` says which), enrolled on the first part, scored "
    "against the second",
}


def _header(report: dict[str, Any]) -> list[str]:
    m, cfg = report["machine"], report["config"]
    counts = ", ".join(f"{t} {n}" for t, n in cfg.get("table_speakers", {}).items())
    return [
        f"# voxhub evaluation, {report['date']}",
        "",
        f"Engine **{report['engine']['name']}** `{report['engine']['version']}`; "
        f"speakers per table: {counts or cfg.get('speakers')}; part {cfg.get('part', 'all')}; "
        f"{len(cfg['sentences'])} sentences; refinement: {cfg['refine']}.",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM; load average "
        f"{m['load_average']} at start, {m.get('load_average_end', '?')} at end (shared "
        f"machine: wall-clock timings rise with it); Python {m['python']}, "
        f"onnxruntime {m['onnxruntime']}, "
        f"recogniser {report['recognizer']} (ctranslate2 {m['ctranslate2']}).",
        "",
    ]


def _three_tables(report: dict[str, Any]) -> list[str]:
    tables = report.get("tables", {})
    lines = [
        "## The tables side by side",
        "",
        *table_report.side_by_side(tables),
        "",
        *[f"- **{t}**: {TABLE_TITLES[t]}." for t in tables],
        "",
        "Means over speakers with a 95 % percentile bootstrap interval over speakers (10 000 "
        "resamples, fixed seed). A speaker's normalised similarity is its mean over its "
        "targets; strangers for more and pool are the pool's same-gender speakers. Tune: "
        "speakers settings may be chosen on; holdout: the others (src/voxhub/evaluation/"
        "split.tsv; all ten of speech/ are tune). Targets bind the holdout columns only.",
        "",
    ]
    for table in ("more", "pool"):
        if table in tables:
            lines += [
                f"## {table}: per speaker",
                "",
                *table_report.speaker_rows(tables[table]["speakers"]),
                "",
            ]
    return lines


def _ten(report: dict[str, Any]) -> list[str]:
    real = report["real_summary"]
    kinds = [k for k in KINDS if k in report["summary"]]
    return [
        "## Ten speakers: summary",
        "",
        *_summary_rows(report["summary"]),
        "",
        "Similarity: resemblyzer cosine between all test sentences joined and the speaker's "
        "*other* recording (never heard at enrolment); normalised = (sim - stranger) / "
        "(same - stranger), where same = cosine of the speaker's two real recordings and "
        "stranger = mean cosine of the held-out recording with other same-gender speakers. "
        f"In the gated mean a speaker counts as 0 when its output WER is above {MAX_WER}. "
        "Best stock pack: the single English pack of the speaker's gender whose speaker "
        "embedding is nearest the enrolment recording's (the engine's own pack embeddings). "
        "WER: Whisper tiny.en, both texts normalised by "
        "voxhub.text (numbers spelt out), punctuation and case dropped.",
        "",
        "## Ten speakers: per speaker",
        "",
        *_speaker_rows(report["speakers"], kinds),
        "",
        "## Real recordings (the recogniser's and DNSMOS's reference point)",
        "",
        f"Recogniser WER on {real['recordings_with_transcript']} recordings with transcripts: "
        f"{_fmt(real['wer_pooled'], pct=True)} pooled, {_fmt(real['wer_mean'], pct=True)} "
        f"mean; DNSMOS mean {_fmt(real['dnsmos_mean'])}.",
        "",
        "| file | WER | DNSMOS |",
        "|---|---|---|",
        *[
            f"| {r['file']} | {_fmt(r.get('wer'), pct=True)} | {_fmt(r.get('dnsmos'))} |"
            for r in report["real"]
        ],
        "",
    ]


def markdown(report: dict[str, Any]) -> str:
    """The human-readable report: the tables side by side, then each table's detail."""
    lines = _header(report)
    if "tables" in report:
        lines += _three_tables(report)
    if report.get("speakers"):
        lines += _ten(report)
    return "\n".join(lines)


def write(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """`eval-YYYY-MM-DD.{json,md}` and `latest.{json,md}` in `out_dir`; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    md = markdown(report)
    paths = []
    for stem in (f"eval-{report['date']}", "latest"):
        for suffix, body in ((".json", text), (".md", md)):
            path = out_dir / f"{stem}{suffix}"
            path.write_text(body, encoding="utf-8")
            paths.append(path)
    return paths


def today() -> str:
    """The run's date, as used in file names."""
    return date.today().isoformat()
