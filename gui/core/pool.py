"""The request threads' pool, whose threads are started by a thread of its own.

``ThreadPoolExecutor.submit`` starts a new thread itself when none is idle, and waits until that
thread runs. The engine submits from the event loop, which in the window is the GUI thread:
arming 200 targets submits 200 first beats in one turn of the loop, and each start waits for
the new thread to get the GIL from the request threads already busy, a few milliseconds each
on a loaded machine: a loop turn of a tenth of a second and more, in which nothing is drawn.

Here ``submit`` only queues the work and asks: a thread of the pool's own starts the threads
wanted, exactly as ``submit`` would have (the same rule: a new thread only when none is idle,
never more than ``max_workers``), while the loop goes on. A request waits in the queue for the
moment its thread takes to start, which it would have waited anyway.
"""

from __future__ import annotations

import concurrent.futures
import threading


class RequestPool(concurrent.futures.ThreadPoolExecutor):
    """A :class:`~concurrent.futures.ThreadPoolExecutor` whose ``submit`` never starts a
    thread on the caller's thread (see the module's docstring)."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._wanted = 0  # submits whose thread count has not been adjusted yet
        self._closing = False
        self._spawning = threading.Condition()
        self._spawner: threading.Thread | None = None

    def _adjust_thread_count(self) -> None:
        # Called by submit() for each work item it queued: counted, and left to the spawner.
        with self._spawning:
            self._wanted += 1
            if self._spawner is None:
                # Once: the first submit starts the spawner itself.
                self._spawner = threading.Thread(
                    target=self._spawn, name=f"{self._thread_name_prefix}-spawner", daemon=True)
                self._spawner.start()
            self._spawning.notify()

    def _spawn(self) -> None:
        while True:
            with self._spawning:
                self._spawning.wait_for(lambda: self._wanted > 0 or self._closing)
                if not self._wanted:  # closing, and every submit so far has its thread
                    return
                self._wanted -= 1
            try:
                # ThreadPoolExecutor's own rule, on this thread: nothing else here touches the
                # pool's threads, and shutdown() waits for this thread first.
                super()._adjust_thread_count()
            except RuntimeError:  # the interpreter is shutting down: no new threads
                return

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._spawning:
            self._closing = True
            spawner = self._spawner
            self._spawning.notify_all()
        if spawner is not None and spawner is not threading.current_thread():
            spawner.join()
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
