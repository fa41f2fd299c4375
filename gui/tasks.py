"""Run blocking work (HTTP, keyring) off the GUI thread, behind ``await``.

The Qt layer never calls the network or the keyring directly on the GUI thread: it awaits
:func:`in_thread`, and the qasync loop keeps painting meanwhile. Every such call must be bounded
(requests always carry a timeout), because closing the loop waits for these threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="gui-task")


async def in_thread(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool, functools.partial(fn, *args, **kwargs))
