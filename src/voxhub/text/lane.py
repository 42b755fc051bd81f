"""Text planning off the event loop, in one thread that every request shares."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# One thread rather than the loop's default pool: planning holds the GIL nearly all the time,
# so a second planning thread adds nothing on any number of cores, while each thread that
# wants the GIL lengthens the loop's waits for it. Plans queue here instead.
_LANE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voxhub-text")


async def off_loop(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` in the text-planning thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_LANE, functools.partial(fn, *args, **kwargs))
