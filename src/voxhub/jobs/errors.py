"""Errors a job handler may raise to steer retries."""

from __future__ import annotations


class PermanentJobError(Exception):
    """Retrying cannot help (bad input, deleted voice): fail the job now."""

    def __init__(self, code: str, message: str, **extra: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra  # what it names, e.g. the index of the line that failed
