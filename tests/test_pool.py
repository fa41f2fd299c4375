"""The request pool: submitting never starts a thread on the submitting thread (the GUI's)."""

from __future__ import annotations

import threading
from typing import Any
from unittest import mock

from gui.core.pool import RequestPool


def test_submit_leaves_starting_threads_to_the_pool_and_every_job_runs() -> None:
    pool = RequestPool(max_workers=8, thread_name_prefix="t")
    started_by: list[str] = []
    real_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        started_by.append(threading.current_thread().name)
        real_start(thread)

    gate = threading.Event()
    with mock.patch.object(threading.Thread, "start", start):
        futures = [pool.submit(gate.wait, 10) for _ in range(20)]
        gate.set()
        assert all(f.result(timeout=10) for f in futures)
        pool.shutdown()
    # Only the spawner was started here (by the first submit); it started the workers.
    assert started_by[0] == threading.current_thread().name
    assert started_by[1:] and set(started_by[1:]) == {"t-spawner"}
    assert 1 <= len(started_by) - 1 <= 8  # never more than max_workers


def test_a_shutdown_with_jobs_still_queued_runs_them_unless_cancelled() -> None:
    pool = RequestPool(max_workers=2)
    gate = threading.Event()
    done: list[Any] = [pool.submit(gate.wait, 10) for _ in range(4)]
    gate.set()
    pool.shutdown(wait=True)
    assert all(f.result(timeout=0) for f in done)
    cancelled = RequestPool(max_workers=1)
    blocker = threading.Event()
    first = cancelled.submit(blocker.wait, 10)
    queued = [cancelled.submit(blocker.wait, 10) for _ in range(3)]
    cancelled.shutdown(wait=False, cancel_futures=True)
    blocker.set()
    assert first.result(timeout=10)
    assert all(f.cancelled() or f.result(timeout=10) for f in queued)
