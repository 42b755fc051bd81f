"""The worker's small HTTP side: `/health` (alive), `/ready` (can run jobs), `/metrics`.

Ready means: the engines are loaded (the container is built, which loads them), the queue takes
jobs, and the database, the blob store and Redis each answer (the API's readiness checks).
`/metrics` is the default Prometheus registry, read under the API's rules (a metrics token, a
direct loopback caller, or an admin).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from voxhub.api import errors
from voxhub.api.errors import problem
from voxhub.container import Container

NO_STORE = {"Cache-Control": "no-store"}


@dataclass
class WorkerState:
    worker_id: str
    container: Container | None = None
    taking_jobs: bool = False


def probe_app(state: WorkerState) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    errors.install(app)

    @app.get("/health")
    async def health() -> Response:
        # Liveness only: a slow database must not get a live worker restarted mid-job.
        return JSONResponse({"status": "ok", "worker_id": state.worker_id}, headers=NO_STORE)

    @app.get("/ready")
    async def ready() -> Response:
        from voxhub.observability.health import readiness

        c = state.container
        report: dict[str, Any] = {
            "engines": {"ok": c is not None, "detail": "loaded" if c else "loading"},
            "queue": {
                "ok": state.taking_jobs,
                "detail": "taking jobs" if state.taking_jobs else "not taking jobs",
            },
        }
        if c is not None:
            for ch in await readiness(c):
                report[ch.component] = {"ok": ch.ok, "detail": ch.detail}
        failing = [name for name, r in report.items() if not r["ok"]]
        body = {"worker_id": state.worker_id, "checks": report}
        if not failing:
            return JSONResponse({"status": "ready", **body}, headers=NO_STORE)
        resp = problem(
            503,
            "not_ready",
            "Not ready",
            "not ready: " + ", ".join(failing),
            failing=failing,
            **body,
        )
        resp.headers.update(NO_STORE)
        return resp

    @app.get("/metrics")
    async def metrics_endpoint(request: Request) -> Response:
        from voxhub.observability import metrics
        from voxhub.observability.router import require_metrics_reader

        c = state.container
        if c is None:
            return problem(503, "not_ready", "Not ready", "the worker is still loading")
        await require_metrics_reader(request, c)
        await metrics.refresh_queue_depth(c)
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type, headers=NO_STORE)

    return app


class ProbeServer(uvicorn.Server):
    """uvicorn without its signal handlers: the worker's own handlers decide how it stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def probe_server(state: WorkerState, host: str, port: int) -> ProbeServer:
    config = uvicorn.Config(
        probe_app(state), host=host, port=port, log_config=None, access_log=False, lifespan="off"
    )
    return ProbeServer(config)
