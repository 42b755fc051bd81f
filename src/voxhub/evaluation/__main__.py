"""`python -m voxhub.evaluation`: clone the shared sample speakers and score the engine."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from voxhub.engines.registry import available_engines
from voxhub.evaluation import report
from voxhub.evaluation.harness import RunConfig, run_evaluation
from voxhub.evaluation.protocols import TABLES, first_n, parse_tables
from voxhub.evaluation.speakers import Speaker, load_manifest
from voxhub.evaluation.split import part_of, wanted
from voxhub.evaluation.table_report import summarise_table
from voxhub.evaluation.tables import TableConfig, build_cases, embed_strangers, run_table
from voxhub.evaluation.voice import TEST_SENTENCES, make_meters
from voxhub.settings import EngineSettings, Settings

_REPO = Path(__file__).resolve().parents[3]


def _shared() -> Path:
    # The same lookup as the tests: VOXHUB_SHARED_DIR, else ../shared beside the repository.
    env = os.environ.get("VOXHUB_SHARED_DIR")
    return Path(env).resolve() if env else (_REPO.parent / "shared").resolve()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m voxhub.evaluation", description=__doc__)
    p.add_argument(
        "--tables",
        type=parse_tables,
        default=TABLES,
        help="which of ten,more,pool to run, comma separated (default: all three)",
    )
    p.add_argument(
        "--speakers", type=int, default=0, help="first N manifest speakers per table (0: all)"
    )
    p.add_argument(
        "--part",
        choices=("tune", "holdout", "all"),
        default="all",
        help="speakers of this part of the fixed split only (split.tsv; the ten are tune)",
    )
    p.add_argument("--sentences", type=int, default=len(TEST_SENTENCES), help="test sentences")
    p.add_argument("--engine", default="embedded", help="engine entry-point name")
    p.add_argument("--refine", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument(
        "--stock",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also score the nearest stock pack of each speaker's gender",
    )
    p.add_argument("--dnsmos", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--out", type=Path, default=Path("bench/results"))
    p.add_argument("--shared", type=Path, default=None, help="the shared data folder")
    p.add_argument(
        "--home",
        type=Path,
        default=None,
        help="voxhub home for engine caches (default: a new temporary folder)",
    )
    p.add_argument("--threads", type=int, default=2, help="threads per model (shared machine)")
    return p.parse_args(argv)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _chosen(table: str, speakers: list[Speaker], args: argparse.Namespace) -> list[Speaker]:
    """The table's speakers of the chosen part, the first `--speakers` of them."""
    chosen = [s for s in speakers if wanted(part_of(table, s.id), args.part)]
    return first_n(chosen, args.speakers)


async def _other_tables(
    engine: Any, meters: Any, args: argparse.Namespace, data: Path, settings: Settings
) -> dict[str, list[dict[str, Any]]]:
    """The rows of the speech-more and pool tables that `--tables` asks for."""
    wanted_tables = [t for t in args.tables if t != "ten"]
    if not wanted_tables:
        return {}
    cfg = TableConfig(
        shared_data=data,
        limits=settings.limits,
        working_rate=settings.working_sample_rate,
        sentences=TEST_SENTENCES[: max(1, args.sentences)],
        refine=args.refine,
    )
    pool = load_manifest(data / "speech-pool" / "MANIFEST.tsv", min_recordings=1)
    _log(f"embedding the {len(pool)} pool speakers (the strangers)")
    strangers = await asyncio.to_thread(
        embed_strangers, pool, data / "speech-pool", cfg, meters.encoder
    )
    speakers = {"more": load_manifest(data / "speech-more" / "MANIFEST.tsv"), "pool": pool}
    rows: dict[str, list[dict[str, Any]]] = {}
    for table in wanted_tables:
        cases = await build_cases(
            table, _chosen(table, speakers[table], args), strangers, cfg, meters.encoder
        )
        _log(f"table {table}: {len(cases)} speakers")
        t0 = time.perf_counter()
        rows[table] = await run_table(engine, meters, cases, cfg, _log)
        _log(f"table {table} took {time.perf_counter() - t0:.0f} s")
    return rows


async def run(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    """Load the engine and instruments, evaluate, and assemble the report."""
    shared = (args.shared or _shared()).resolve()
    speech = shared / "data" / "speech"
    ten = load_manifest(speech / "MANIFEST.tsv")
    # The ten are all "tune" (the settings were chosen on them): all or none of them run.
    run_ten = "ten" in args.tables and wanted("tune", args.part)
    n = args.speakers if 0 < args.speakers <= len(ten) else len(ten)
    sentences = TEST_SENTENCES[: max(1, args.sentences)]
    settings = Settings(
        home=home,
        engine=EngineSettings(
            engines=[args.engine],
            default_engine=args.engine,
            kokoro_voices_dir=shared / "models" / "kokoro" / "voices",
            kokoro_download=False,
            engine_threads=args.threads,
            refine_profiles=args.refine,
        ),
    )
    meters = make_meters(threads=args.threads, dnsmos=args.dnsmos)
    engine_cls = available_engines()[args.engine].load()
    engine = engine_cls(settings=settings, speaker_encoder=meters.encoder)
    _log(f"loading {args.engine} and the instruments (home {home})")
    machine = report.machine()  # load average before we add to it
    t0 = time.perf_counter()
    await engine.load()
    load_s = time.perf_counter() - t0
    await asyncio.to_thread(meters.load)
    cfg = RunConfig(
        speech_dir=speech,
        pool=ten,
        n_speakers=n,
        limits=settings.limits,
        working_rate=settings.working_sample_rate,
        sentences=sentences,
        refine=args.refine,
        stock=args.stock,
    )
    ten_result: dict[str, Any] = {"real": [], "speakers": []}
    try:
        t0 = time.perf_counter()
        if run_ten:
            ten_result = await run_evaluation(engine, meters, cfg, _log)
            for row in ten_result["speakers"]:
                row["part"] = part_of("ten", row["speaker"])
        other = await _other_tables(engine, meters, args, shared / "data", settings)
        run_s = time.perf_counter() - t0
    finally:
        await engine.aclose()
    machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    refines = hasattr(engine, "refine")
    table_rows = ({"ten": ten_result["speakers"]} if run_ten else {}) | other
    return {
        "date": report.today(),
        "machine": machine,
        "engine": {
            "name": engine.info.name,
            "version": engine.info.version,
            "load_s": round(load_s, 2),
            "load_stats": getattr(engine, "load_stats", {}),
        },
        "recognizer": meters.recognizer.name,
        "config": {
            "tables": list(table_rows),
            "part": args.part,
            "speakers": n if run_ten else 0,
            "table_speakers": {t: len(rows) for t, rows in table_rows.items()},
            "sentences": list(sentences),
            "refine": ("on" if args.refine else "off") if refines else "n/a (engine cannot)",
            "stock": args.stock,
            "threads": args.threads,
            "run_s": round(run_s, 1),
        },
        "tables": {
            t: {"summary": summarise_table(rows), "speakers": rows}
            for t, rows in table_rows.items()
        },
        # The ten-speaker table's own summary and detail, as before the other tables existed.
        "summary": report.summarise(ten_result["speakers"]),
        "real_summary": report.summarise_real(ten_result["real"]),
        "speakers": ten_result["speakers"],
        "real": ten_result["real"],
    }


def main(argv: list[str] | None = None) -> None:
    """Run the evaluation, write the result files and print the Markdown summary."""
    args = parse_args(argv)
    if args.home is not None:
        result = asyncio.run(run(args, args.home))
    else:
        with tempfile.TemporaryDirectory(prefix="voxhub-eval-") as tmp:
            result = asyncio.run(run(args, Path(tmp)))
    paths = report.write(result, args.out)
    print(report.markdown(result))
    _log("wrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
