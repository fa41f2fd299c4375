"""Run blocking work (HTTP, keyring) off the GUI thread, behind ``await``.

The Qt layer never calls the network or the keyring directly on the GUI thread: it awaits
:func:`in_thread`, and the qasync loop keeps painting meanwhile. Every such call must be bounded
(requests always carry a timeout), because closing the loop waits for these threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger(__name__)

_pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="gui-task")


async def in_thread(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool, functools.partial(fn, *args, **kwargs))


class BackgroundTasks:
    """The tasks one widget starts: kept alive (the loop holds only weak references to tasks),
    their failures logged, and cancelled together when the widget's context changes."""

    def __init__(self, what: str, *, no_loop_level: int = logging.DEBUG) -> None:
        self._what = what
        self._no_loop_level = no_loop_level
        self._tasks: set[asyncio.Future[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any] | None:
        """Run ``coro`` on the running loop; without one, drop it and say so."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            log.log(self._no_loop_level, "No running event loop: %s did not start.", self._what)
            return None
        future = asyncio.ensure_future(coro)
        self._tasks.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: asyncio.Future[Any]) -> None:
        self._tasks.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("%s failed", self._what, exc_info=future.exception())

    def cancel_all(self) -> list[asyncio.Future[Any]]:
        """Cancel every task; returns them for a caller that must wait until they have ended."""
        futures = list(self._tasks)
        for future in futures:
            future.cancel()
        self._tasks.clear()
        return futures

    async def cancel_and_wait(self) -> None:
        """Cancel every task and wait until each has ended (before the event loop closes)."""
        futures = self.cancel_all()
        if futures:
            await asyncio.gather(*futures, return_exceptions=True)
