"""Time a first start: `voxhub serve` on a fresh home until a voice is enrolled and speaks.

    python -m voxhub.evaluation.first_start [--reference FILE] [--runs N] [--out FILE]

Each run starts `voxhub serve` with a new, empty VOXHUB_HOME and nothing else configured (every
`VOXHUB_*` variable of the caller is dropped, so the engine uses its stock packs), reads the API
key it prints once, and posts the reference to `POST /api/v1/voices` until the 201; then it
speaks one sentence with that voice. For "no network", run it inside a network namespace with
only loopback (`unshare -n sh -c 'ip link set lo up && ...'`): the pack download then fails at
once instead of waiting out a timeout. Prints one JSON object per run and the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

_KEY = re.compile(r"API key:\s+(\S+)")
_READY = re.compile(r"embedded engine ready: (\d+) packs from (\S+), (\{.*\})")
SENTENCE = "The quick brown fox jumps over the lazy dog."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _environment(home: Path, port: int, settings: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOXHUB_")}
    env |= {"VOXHUB_HOME": str(home), "VOXHUB_PORT": str(port), "VOXHUB_LOG_FORMAT": "text"}
    return env | settings


class _Output:
    """The server's merged output, read on a thread so the pipe never fills."""

    def __init__(self, proc: subprocess.Popen[str], log: Path) -> None:
        self.key: str | None = None
        self.key_at = 0.0  # perf_counter when the key was printed (start-up is complete)
        self.ready: dict[str, Any] = {}
        self._proc, self._log = proc, log
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        with self._log.open("w") as log:
            for line in self._proc.stdout:
                log.write(line)
                if self.key is None and (m := _KEY.search(line)):
                    self.key, self.key_at = m.group(1), time.perf_counter()
                if m := _READY.search(line):
                    stats = json.loads(m.group(3).replace("'", '"'))
                    self.ready = {"packs": int(m.group(1)), "source": m.group(2), **stats}


def one_run(
    reference: Path, timeout: float, log_dir: Path, settings: dict[str, str] | None = None
) -> dict[str, Any]:
    """Seconds from starting `voxhub serve` on a fresh home to the first enrolment (201)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="voxhub-first-start-") as tmp:
        home = Path(tmp) / "home"
        log = log_dir / f"serve-{port}.log"
        t0 = time.perf_counter()
        proc = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", "voxhub.cli", "serve", "--port", str(port)],
            env=_environment(home, port, settings or {}),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        out = _Output(proc, log)
        result: dict[str, Any] = {"log": str(log)}
        try:
            with httpx.Client(base_url=url, timeout=60.0) as client:
                while True:
                    if time.perf_counter() - t0 > timeout or proc.poll() is not None:
                        raise RuntimeError(f"no enrolment within {timeout:.0f} s; see {log}")
                    if out.key is None:
                        time.sleep(0.05)
                        continue
                    auth = {"Authorization": f"Bearer {out.key}"}
                    sent = time.perf_counter()
                    try:
                        with reference.open("rb") as f:
                            r = client.post(
                                "/api/v1/voices",
                                headers=auth,
                                files={"file": (reference.name, f)},
                                # The default consent policy refuses an upload that does not
                                # say whose voice it is; a timing run claims "self".
                                data={"name": "first start", "consent": "self"},
                            )
                    except httpx.TransportError:  # not listening yet
                        time.sleep(0.05)
                        continue
                    if r.status_code == 201:
                        done = time.perf_counter()
                        result["started_s"] = round(out.key_at - t0, 2)
                        result["enrol_request_s"] = round(done - sent, 2)
                        result["enrolled_s"] = round(done - t0, 2)
                        break
                    if r.status_code not in (502, 503):
                        raise RuntimeError(f"enrolment answered {r.status_code}: {r.text[:300]}")
                    time.sleep(0.1)
                voice = r.json()
                t1 = time.perf_counter()
                spoken = client.post(
                    "/api/v1/speech",
                    headers=auth,
                    json={"voice_id": voice["id"], "text": SENTENCE, "format": "wav"},
                )
                spoken.raise_for_status()
                result["first_speech_s"] = round(time.perf_counter() - t1, 2)
                result["speech_bytes"] = len(spoken.content)
        finally:
            proc.terminate()  # a refinement job may be running: it is not waited for
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        result["engine"] = out.ready
        return result


def main(argv: list[str] | None = None) -> int:
    """Run the first starts and print them with the median."""
    p = argparse.ArgumentParser(prog="python -m voxhub.evaluation.first_start")
    repo = Path(__file__).resolve().parents[3]
    default = repo.parent / "shared" / "data" / "speech" / "cmuarctic_clb_arctic_a0022.wav"
    p.add_argument("--reference", type=Path, default=default, help="recording to enrol")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    p.add_argument("--out", type=Path, help="also write the results here (JSON)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="VOXHUB_NAME=VALUE",
        help="a setting for the server (repeatable); by default none is set",
    )
    args = p.parse_args(argv)
    settings = dict(item.split("=", 1) for item in args.set)
    log_dir = Path(tempfile.mkdtemp(prefix="voxhub-first-start-logs-"))
    runs = []
    for _ in range(args.runs):
        runs.append(one_run(args.reference, args.timeout, log_dir, settings))
        print(json.dumps(runs[-1]), flush=True)
    summary = {
        "runs": runs,
        "median_enrolled_s": statistics.median(r["enrolled_s"] for r in runs),
    }
    print(json.dumps({"median_enrolled_s": summary["median_enrolled_s"]}))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
