"""Output that cannot be written (a full disk, a FIFO for a journal) never hangs, floods or
stops the app: a line or a message, and the heartbeat carries on."""

from __future__ import annotations

import io
import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gui.core.journal import JOURNAL_FILE, Journal, JournalError
from gui.core.logsetup import setup_logging


@pytest.fixture
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in before:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_says_so_once_instead_of_a_traceback_per_record(
        root_handlers: None, monkeypatch: pytest.MonkeyPatch) -> None:
    full = open("/dev/full", "w", encoding="utf-8")  # every write: ENOSPC
    try:
        monkeypatch.setattr(sys, "stderr", full)
        setup_logging(None)
        seen = io.StringIO()
        monkeypatch.setattr(sys, "stderr", seen)
        for n in range(5):
            logging.getLogger("gui.test").error("record %d", n)
    finally:
        monkeypatch.undo()
        with pytest.raises(OSError):
            full.close()
    text = seen.getvalue()
    assert "Logging error" not in text and "Traceback" not in text
    assert text.count("cannot write the log") == 1, text


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_journal_that_is_a_fifo_is_refused_and_never_blocks(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / JOURNAL_FILE)
    journal = Journal(tmp_path)
    with pytest.raises(JournalError, match="not a regular file"):
        journal.check()
    # Nothing blocks on it either, should a writer get that far: each call returns.
    done = threading.Event()

    def use() -> None:
        journal.write("arm", target="spot:BTC_USDT")
        journal.recent(10)
        done.set()

    worker = threading.Thread(target=use, daemon=True)
    worker.start()
    assert done.wait(10), "the journal blocked on a FIFO"
    journal.close()


def test_a_regular_or_missing_journal_passes_the_check(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "new")
    journal.check()
    journal.write("arm", target="spot:BTC_USDT")
    journal.check()
    journal.close()
