"""One worker process: probes first, then the engines, then jobs until SIGTERM or SIGINT.

On either signal the worker stops taking jobs, lets the running ones finish for
`job_shutdown_grace_s`, hands the rest back (queued again, the attempt not counted, the id
offered to other workers at once), and exits 0. A second signal changes nothing: the grace
period is the bound. SIGKILL is what the lease and streaq's redelivery are for.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from voxhub.bootstrap import build_container, close_container, worker_identity
from voxhub.container import Container
from voxhub.settings import Settings
from voxhub.worker.probes import WorkerState, probe_server

log = logging.getLogger("voxhub.worker")


class WorkerIdFilter(logging.Filter):
    """Puts the worker's id on every record (a field in JSON lines, in the bracket in text)."""

    def __init__(self, worker_id: str) -> None:
        super().__init__()
        self.worker_id = worker_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.worker_id = self.worker_id
        context = getattr(record, "context", "")
        tag = f"worker_id={self.worker_id}"
        record.context = f"{context[:-1]} {tag}]" if context else f" [{tag}]"
        return True


def configure_worker_logging(settings: Settings, worker_id: str) -> None:
    from voxhub.observability.logs import configure_logging

    handler = configure_logging(settings.log_level, settings.log_format)
    handler.addFilter(WorkerIdFilter(worker_id))  # after the context filter: it extends it


async def run_worker(settings: Settings, concurrency: int, host: str, port: int) -> None:
    worker_id = worker_identity()
    configure_worker_logging(settings, worker_id)
    state = WorkerState(worker_id)
    server = probe_server(state, host, port)
    serving = asyncio.create_task(server.serve(), name="worker-probes")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    c: Container | None = None
    stopped = asyncio.create_task(stop.wait())
    try:
        log.info("worker %s: loading engines (concurrency %d)", worker_id, concurrency)
        building = asyncio.create_task(
            build_container(
                settings,
                role="worker",
                concurrency=concurrency,
                worker_id=worker_id,
                run_jobs=False,
            )
        )
        await asyncio.wait({building, stopped}, return_when=asyncio.FIRST_COMPLETED)
        c = await building  # a signal while loading: finish loading (it holds no job), then stop
        state.container = c
        if not stop.is_set():
            await c.jobs.start()
            state.taking_jobs = True
            log.info(
                "worker %s: taking jobs from queue %s",
                worker_id,
                getattr(c.jobs, "queue_name", "?"),
            )
            await stopped
        log.info("worker %s: stopping", worker_id)
        state.taking_jobs = False
    finally:
        stopped.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if c is not None:
            await close_container(c)  # the queue first: finish or hand back, then the rest
        server.should_exit = True
        await asyncio.gather(serving, return_exceptions=True)
        log.info("worker %s: stopped", worker_id)
