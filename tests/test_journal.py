"""Journal: JSON Lines records, rotation, reading back, threads, guards and listeners."""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from gui.core.journal import DATA_DIR_ENV, JOURNAL_FILE, Journal, data_dir
from gui.core.redact import clear_secrets, register_secret

SECRET = "5ecret" * 8


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GATE_KILLSWITCH_CONFIG_DIR", str(tmp_path / "env-config"))
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env-data"))
    clear_secrets()
    yield
    clear_secrets()


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "data")
    yield j
    j.close()


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run_threads(work: Callable[[int], None], count: int) -> None:
    """``work(0)`` … ``work(count - 1)``, each on its own thread, all finished on return."""
    threads = [threading.Thread(target=work, args=(t,)) for t in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_write_adds_time_and_event(tmp_path: Path) -> None:
    j = Journal(tmp_path, clock=lambda: 1714564800.1234)
    record = j.write("beat", target="spot:BTC_USDT", latency_ms=42.5, trigger_time=1714564860000)
    j.close()
    assert record == {"t": "2024-05-01T12:00:00.123Z", "ts": 1714564800.123, "event": "beat",
                      "target": "spot:BTC_USDT", "latency_ms": 42.5,
                      "trigger_time": 1714564860000}
    assert lines(tmp_path / JOURNAL_FILE) == [record]
    assert list(record)[:3] == ["t", "ts", "event"]


def test_real_clock_time_format(journal: Journal) -> None:
    record = journal.write("arm")
    parsed = datetime.strptime(record["t"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs(parsed.timestamp() - record["ts"]) < 0.002
    assert len(record["t"]) == len("2024-05-01T12:00:00.123Z")


def test_each_line_is_on_disk_at_once(journal: Journal) -> None:
    journal.write("arm", target="spot:all")
    # Read by another handle while the journal is still open: nothing waits in a buffer.
    assert [r["event"] for r in lines(journal.path)] == ["arm"]


def test_paths_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    j = Journal(tmp_path / "x")
    assert j.directory == tmp_path / "x" and j.path == tmp_path / "x" / JOURNAL_FILE
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    assert data_dir() == tmp_path / "env"
    assert Journal().path == tmp_path / "env" / JOURNAL_FILE
    monkeypatch.delenv(DATA_DIR_ENV)
    assert "gate-killswitch" in str(data_dir())


def test_nothing_is_created_until_the_first_write(tmp_path: Path) -> None:
    j = Journal(tmp_path / "later")
    assert j.recent() == []
    assert not (tmp_path / "later").exists()
    j.write("stop")
    assert j.path.is_file()
    j.close()


def test_file_mode(journal: Journal) -> None:
    if sys.platform == "win32":
        pytest.skip("POSIX modes")
    journal.write("arm")
    assert stat.S_IMODE(os.stat(journal.path).st_mode) == 0o600


def test_values_are_json_ready(journal: Journal) -> None:
    class Colour(Enum):
        RED = "red"

    record = journal.write("error", state=Colour.RED, items=("a", 1), nested={"n": [1.5, None]},
                           obj=Path("/x"), nan=float("nan"), flag=True, text="naïve ☃")
    assert record["state"] == "red" and record["items"] == ["a", 1]
    assert record["nested"] == {"n": [1.5, None]} and record["obj"] == str(Path("/x"))
    assert record["nan"] == "nan" and record["flag"] is True
    assert lines(journal.path) == [record]


@pytest.mark.parametrize("name", ["key", "api_key", "apiKey", "secret", "client_secret",
                                  "sign", "signature", "x_signature", "password", "KEY",
                                  "passphrase", "keys"])
def test_refused_field_names(journal: Journal, name: str) -> None:
    with pytest.raises(ValueError, match="credential"):
        journal.write("beat", **{name: "x"})
    assert not journal.path.exists()


def test_refused_nested_names(journal: Journal) -> None:
    with pytest.raises(ValueError):
        journal.write("beat", request={"headers": {"SIGN": "abc"}})


@pytest.mark.parametrize("name", ["t", "ts"])
def test_reserved_field_names(journal: Journal, name: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        journal.write("beat", **{name: 1})


def test_innocent_names_allowed(journal: Journal) -> None:
    journal.write("beat", keyring="ok", signal="ok", monkey="ok", profile="main", label="X")


def test_values_are_redacted(journal: Journal) -> None:
    register_secret(SECRET)
    record = journal.write("error", message=f"bad {SECRET}", details={"why": [SECRET]})
    assert record["message"] == "bad ***" and record["details"] == {"why": ["***"]}
    assert SECRET not in journal.path.read_text()


def test_recent(journal: Journal) -> None:
    for i in range(10):
        journal.write("beat", n=i)
    assert [r["n"] for r in journal.recent(3)] == [7, 8, 9]
    assert [r["n"] for r in journal.recent()] == list(range(10))
    assert journal.recent(0) == []


def test_recent_skips_corrupt_lines(journal: Journal) -> None:
    journal.write("beat", n=1)
    journal.close()
    with open(journal.path, "ab") as f:
        f.write(b'not json\n[1, 2]\n\n{"t": "x", "event": "half')  # a crash mid-line
    journal.write("beat", n=2)
    assert [r.get("n") for r in journal.recent()] == [1, 2]


def test_rotation(tmp_path: Path) -> None:
    j = Journal(tmp_path, max_bytes=1000, backups=3)
    for i in range(200):
        j.write("beat", n=i, pad="x" * 40)
    j.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [JOURNAL_FILE, f"{JOURNAL_FILE}.1", f"{JOURNAL_FILE}.2", f"{JOURNAL_FILE}.3"]
    for p in tmp_path.iterdir():
        assert p.stat().st_size <= 1000
    # Oldest to newest, across the files: .3, .2, .1, current; no gaps.
    numbers = [r["n"] for i in (3, 2, 1) for r in lines(tmp_path / f"{JOURNAL_FILE}.{i}")]
    numbers += [r["n"] for r in lines(tmp_path / JOURNAL_FILE)]
    assert numbers == list(range(numbers[0], 200))
    # recent() reads into the rotated files when the current one is short.
    current = len(lines(tmp_path / JOURNAL_FILE))
    want = current + 5
    assert [r["n"] for r in j.recent(want)] == list(range(200 - want, 200))
    assert [r["n"] for r in j.recent(10_000)] == numbers


def test_rotation_without_backups(tmp_path: Path) -> None:
    j = Journal(tmp_path, max_bytes=300, backups=0)
    for i in range(50):
        j.write("beat", n=i)
    j.close()
    assert [p.name for p in tmp_path.iterdir()] == [JOURNAL_FILE]
    assert lines(tmp_path / JOURNAL_FILE)[-1]["n"] == 49


def test_reopen_continues_the_file(tmp_path: Path) -> None:
    Journal(tmp_path).write("arm")
    j = Journal(tmp_path)
    j.write("stop")
    j.close()
    assert [r["event"] for r in j.recent()] == ["arm", "stop"]


def test_write_after_close_reopens(journal: Journal) -> None:
    journal.write("arm")
    journal.close()
    journal.write("stop")
    assert [r["event"] for r in journal.recent()] == ["arm", "stop"]


def test_threads_lose_nothing(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    per_thread, thread_count = 250, 8
    start = threading.Barrier(thread_count)

    def work(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            j.write("beat", thread=t, n=i, pad="y" * (i % 50))

    run_threads(work, thread_count)
    j.close()
    records = lines(tmp_path / JOURNAL_FILE)  # raises if any line is not valid JSON
    assert len(records) == per_thread * thread_count
    for t in range(thread_count):
        assert [r["n"] for r in records if r["thread"] == t] == list(range(per_thread))


def test_threads_with_rotation_lose_nothing(tmp_path: Path) -> None:
    j = Journal(tmp_path, max_bytes=4000, backups=200)
    thread_count, per_thread = 6, 150

    def work(t: int) -> None:
        for i in range(per_thread):
            j.write("beat", thread=t, n=i)

    run_threads(work, thread_count)
    j.close()
    records = j.recent(10_000)
    assert len(records) == thread_count * per_thread
    for t in range(thread_count):
        assert [r["n"] for r in records if r["thread"] == t] == list(range(per_thread))


def test_listeners(journal: Journal, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[dict[str, Any]] = []

    def broken(record: dict[str, Any]) -> None:
        raise RuntimeError("listener bug")

    journal.subscribe(broken)
    unsubscribe = journal.subscribe(seen.append)
    with caplog.at_level(logging.ERROR, logger="gui.core.journal"):
        record = journal.write("fired", target="spot:all")
    assert seen == [record]
    assert any("listener" in r.getMessage() and r.exc_info for r in caplog.records)
    unsubscribe()
    journal.write("stop")
    assert len(seen) == 1
    # The record was written although a listener failed.
    assert [r["event"] for r in journal.recent()] == ["fired", "stop"]


def test_listener_may_write_to_the_journal(journal: Journal) -> None:
    def echo(record: dict[str, Any]) -> None:
        if record["event"] == "fired":
            journal.write("notified")

    journal.subscribe(echo)
    journal.write("fired")
    assert [r["event"] for r in journal.recent()] == ["fired", "notified"]


def test_write_failure_is_logged_not_raised(tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    j = Journal(blocker / "journal-dir")  # cannot be created: a file is in the way
    seen: list[dict[str, Any]] = []
    j.subscribe(seen.append)
    with caplog.at_level(logging.ERROR, logger="gui.core.journal"):
        j.write("beat")
        j.write("beat")
    assert len(seen) == 2
    assert len([r for r in caplog.records if r.name == "gui.core.journal"]) == 1


def test_invalid_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Journal(tmp_path, max_bytes=0)
    with pytest.raises(ValueError):
        Journal(tmp_path, backups=-1)
    with pytest.raises(ValueError):
        Journal(tmp_path).write("")


# -- the file held open between records ---------------------------------------------------------


def test_the_file_holds_every_record_after_close(tmp_path: Path) -> None:
    with Journal(tmp_path) as j:
        for i in range(1000):
            j.write("beat", n=i)
    assert [r["n"] for r in lines(tmp_path / JOURNAL_FILE)] == list(range(1000))


def test_a_journal_deleted_while_in_use_is_started_again(journal: Journal) -> None:
    journal.write("arm")
    journal.path.unlink()
    journal.write("beat", n=1)
    journal.write("beat", n=2)
    assert [r.get("n") for r in lines(journal.path)] == [1, 2]


def test_a_journal_renamed_away_is_started_again(journal: Journal) -> None:
    journal.write("arm")
    moved = journal.path.with_name("journal.jsonl.old")  # a log rotator's doing
    journal.path.rename(moved)
    journal.write("stop")
    assert [r["event"] for r in lines(moved)] == ["arm"]
    assert [r["event"] for r in lines(journal.path)] == ["stop"]


def test_a_journal_directory_removed_while_in_use_is_made_again(journal: Journal) -> None:
    journal.write("arm")
    journal.path.unlink()
    journal.directory.rmdir()
    journal.write("stop")
    assert [r["event"] for r in lines(journal.path)] == ["stop"]


def test_writing_resumes_after_a_failure(journal: Journal,
                                         caplog: pytest.LogCaptureFixture) -> None:
    journal.write("arm")
    journal.path.unlink()
    journal.path.mkdir()  # a directory in the way: the journal cannot be written
    with caplog.at_level(logging.ERROR, logger="gui.core.journal"):
        journal.write("beat", n=1)
        journal.write("beat", n=2)
        journal.path.rmdir()
        journal.write("beat", n=3)
        journal.path.unlink()
        journal.path.mkdir()
        journal.write("beat", n=4)
    # The first failure of each run of them is logged, and writing resumes in between.
    assert len([r for r in caplog.records if r.name == "gui.core.journal"]) == 2
    journal.path.rmdir()
    journal.write("beat", n=5)
    assert [r.get("n") for r in lines(journal.path)] == [5]


def test_a_fragment_left_by_another_writer_is_ended(journal: Journal) -> None:
    journal.write("beat", n=1)
    with open(journal.path, "ab") as other:
        other.write(b'{"t": "x", "event": "half')
    journal.write("beat", n=2)
    assert [r.get("n") for r in journal.recent()] == [1, 2]
    assert journal.path.read_bytes().endswith(b"\n")


def test_two_journals_on_one_directory_rotate_and_lose_nothing(tmp_path: Path) -> None:
    first = Journal(tmp_path, max_bytes=1000, backups=100)
    second = Journal(tmp_path, max_bytes=1000, backups=100)
    for i in range(150):
        first.write("beat", n=2 * i)
        second.write("beat", n=2 * i + 1)
    first.close()
    second.close()
    assert [r["n"] for r in first.recent(10_000)] == list(range(300))
    assert all(p.stat().st_size <= 1000 for p in tmp_path.iterdir())


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts /proc/self/fd")
def test_one_descriptor_per_journal_released_on_close_or_when_dropped(tmp_path: Path) -> None:
    import gc

    def open_descriptors() -> int:
        """This process's descriptors open on files under ``tmp_path`` (the journals'): other
        tests' objects collected meanwhile must not move the count."""
        count = 0
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:  # closed since the listing (the listing's own descriptor)
                continue
            count += target.startswith(str(tmp_path))
        return count

    before = open_descriptors()
    assert before == 0
    j = Journal(tmp_path, max_bytes=2000, backups=2)
    for i in range(300):  # rotating several times on the way
        j.write("beat", n=i)
        if i % 50 == 0:
            j.path.unlink()
    assert open_descriptors() <= before + 1  # none leaked by rotating or reopening
    j.close()
    assert open_descriptors() == before
    dropped = Journal(tmp_path)
    dropped.write("arm")
    del dropped
    gc.collect()
    assert open_descriptors() == before


def test_a_context_field_goes_into_every_record_until_removed(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.set_context(profile="main")
    journal.write("beat", target="spot:BTC_USDT")
    journal.write("beat", profile="other")
    journal.set_context(profile=None)
    journal.write("exit")
    journal.close()
    records = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    assert [r.get("profile") for r in records] == ["main", "other", None]
    with pytest.raises(ValueError):
        journal.set_context(api_key="x")
