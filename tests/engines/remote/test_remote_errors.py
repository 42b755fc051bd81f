"""Remote engines' errors keep their HTTP status everywhere: in the app's map, and relayed
from a worker (EngineRejected shares engine_failure's code, but not its 500)."""

from __future__ import annotations

import pytest

from voxhub.api.errors import status_for
from voxhub.core import errors as e
from voxhub.engines.relay.wire import error_of, error_reply, unpack


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (e.EngineAuthFailed("x"), 502, "engine_auth_failed"),
        (e.EngineTimeout("x"), 504, "engine_timeout"),
        (e.EngineRejected("x"), 502, "engine_failure"),
        (e.EngineUnavailable("x", retry_after=4), 503, "engine_unavailable"),
        (e.EngineFailure("x"), 500, "engine_failure"),
    ],
)
def test_status_and_code_survive_the_relay(exc: e.VoxhubError, status: int, code: str) -> None:
    assert (status_for(exc), exc.code) == (status, code)
    relayed = error_of(unpack(error_reply(exc))[0])
    assert type(relayed) is type(exc) and status_for(relayed) == status
    assert relayed.extra == exc.extra


def test_a_reply_without_the_class_takes_the_most_general_class_of_its_code() -> None:
    assert type(error_of({"t": "error", "code": "engine_failure"})) is e.EngineFailure
