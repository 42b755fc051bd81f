"""Logging set-up: plain text (default) or one JSON object per line (`VOXHUB_LOG_FORMAT=json`).

Every record carries the job it was logged for (`job_id`, set by the executor around a job's
handler and its heartbeat) and the HTTP request (`request_id`, set by the request middleware),
taken from context variables, so code that logs needs no logger adapters and asyncio tasks
started inside a job inherit its id.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

job_id_var: ContextVar[str | None] = ContextVar("voxhub_job_id", default=None)
request_id_var: ContextVar[str | None] = ContextVar("voxhub_request_id", default=None)

# Attributes every LogRecord has; anything else on a record came through `extra=` and is kept.
# (`color_message`: uvicorn's copy of a message with terminal colours.)
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "context",
    "color_message",
}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"


@contextmanager
def job_logging(job_id: str) -> Iterator[None]:
    """Records logged inside (and by tasks created inside) carry `job_id`."""
    token = job_id_var.set(job_id)
    try:
        yield
    finally:
        job_id_var.reset(token)


class ContextFilter(logging.Filter):
    """Puts `job_id` and `request_id` from the context on each record (a handler's filter, so
    records propagated from any logger get them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in (("job_id", job_id_var), ("request_id", request_id_var)):
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        parts = [f"{k}={v}" for k in ("job_id", "request_id") if (v := getattr(record, k))]
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, job_id / request_id when set,
    the exception's traceback, and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and value is not None and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def make_handler(fmt: str, stream: IO[str] | None = None) -> logging.Handler:
    """A stream handler in `fmt` ("json" or "text") that adds the context to each record."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.set_name("voxhub")
    return handler


def configure_logging(level: str, fmt: str, stream: IO[str] | None = None) -> logging.Handler:
    """Send every logger's records (uvicorn's too, when it is given `log_config=None`) through
    one root handler. Calling it again replaces voxhub's handler rather than adding one."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "voxhub"]:
        root.removeHandler(old)
    handler = make_handler(fmt, stream)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
