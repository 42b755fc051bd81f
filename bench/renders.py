"""Dialogue renders through the running server and embedded engine: a 20-line script rendered
whole, then again after one line was edited (the line cache speaks only that line).

Called by bench/run.py with its client and a voice, after the chat benchmark loaded the
embedded LLM (the script is written by it, then its dialogue replaced by 20 fixed lines so
every run renders the same text). Printed, never asserted.
"""

from __future__ import annotations

import time

import httpx

LINES = [
    "The lamp is lit, and the sea is calm tonight.",
    "Then the fishing boats will all come home safely.",
    "I saw three lights on the horizon an hour ago.",
    "Those are the trawlers from the northern harbour.",
    "The wind is turning, though. Can you feel it?",
    "It always turns before midnight in the autumn.",
    "Did you trim the wick before the sun went down?",
    "Twice. The flame is steady and bright.",
    "Good. The inspector comes on Thursday morning.",
    "He will find the brass polished and the log written.",
    "My grandfather kept this light for forty years.",
    "And he never missed a single night, I am told.",
    "Only once, in the great storm of the winter.",
    "What happened to the ships that night?",
    "They steered by the church bell in the village.",
    "Then the bell saved them where the lamp could not.",
    "Listen. The fog horn from the point has started.",
    "Fog by morning, then. I will put the kettle on.",
    "Make it strong. It will be a long watch.",
    "They are all long, but this is a good one.",
]
EDITED = 7  # the line changed before the second render
TIMEOUT_S = 900.0


def _script(client: httpx.Client, cast: list[str]) -> str:
    body = {"character_ids": cast, "prompt": "Two lighthouse keepers at night.", "lines": 2}
    for _ in range(20):  # the model may still be loading (503) or write nonsense (502)
        r = client.post("/api/v1/scripts", json=body)
        if r.status_code == 201:
            return str(r.json()["id"])
        if r.status_code not in (502, 503):
            r.raise_for_status()
        time.sleep(2.0)
    raise RuntimeError("no script was written")


def _render(client: httpx.Client, script_id: str) -> tuple[float, dict]:
    t0 = time.perf_counter()
    r = client.post(f"/api/v1/scripts/{script_id}/renders", json={"format": "mp3"})
    r.raise_for_status()
    job_id = r.json()["job_id"]
    while time.perf_counter() - t0 < TIMEOUT_S:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] == "succeeded":
            elapsed = time.perf_counter() - t0
            return elapsed, client.get(f"/api/v1/renders/{r.json()['id']}").json()
        if job["status"] in ("failed", "dead", "cancelled"):
            raise RuntimeError(f"the render ended {job['status']}: {job['error']}")
        time.sleep(0.2)
    raise RuntimeError("the render did not finish")


def measure_renders(client: httpx.Client, voice: str) -> dict[str, float]:
    cast = []
    for name in ("Ada", "Ben"):
        r = client.post("/api/v1/characters", json={"display_name": name, "voice_id": voice})
        r.raise_for_status()
        cast.append(r.json()["id"])
    script_id = _script(client, cast)
    dialogue = [{"speaker": cast[i % 2], "text": t} for i, t in enumerate(LINES)]
    client.put(f"/api/scripts/{script_id}", json={"dialogue": dialogue}).raise_for_status()
    full_s, first = _render(client, script_id)
    line_id = first["lines"][EDITED]["line_id"]
    client.patch(
        f"/api/v1/scripts/{script_id}/lines/{line_id}",
        json={"text": "I trimmed it three times, to be sure."},
    ).raise_for_status()
    one_s, second = _render(client, script_id)
    audio_min = first["duration_s"] / 60
    return {
        "lines": len(LINES),
        "audio_s": first["duration_s"],
        "full_render_s": round(full_s, 2),
        "one_line_rerender_s": round(one_s, 2),
        "render_s_per_audio_min": round(full_s / audio_min, 2),
        "rerender_ratio": round(one_s / full_s, 3),
        "loudness_lufs": first["loudness_lufs"],
        "true_peak_dbtp": first["true_peak_dbtp"],
        "second_loudness_lufs": second["loudness_lufs"],
    }


def main() -> None:
    """This benchmark alone, on a server of its own (`python -m bench.renders`)."""
    import json

    from bench.run import REFERENCES, SPEECH, api_key, free_port, fresh_home, start_server

    home, port = fresh_home(), free_port()
    proc = start_server(home, port)
    try:
        headers = {"Authorization": f"Bearer {api_key(home / 'server.log')}"}
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300, headers=headers)
        name = REFERENCES[0]
        r = client.post(
            "/api/v1/voices",
            files={"file": (name, (SPEECH / name).read_bytes())},
            data={"name": "bench", "consent": "self"},
        )
        r.raise_for_status()
        print(json.dumps(measure_renders(client, r.json()["id"]), indent=2))
    finally:
        proc.terminate()
        proc.wait(30)


if __name__ == "__main__":
    main()
