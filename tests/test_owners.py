"""One owner per target on this computer: claims are refused while another live process
holds them, and taken over once it is gone, however it ended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gui.core.owners import OwnedElsewhere, Owners
from gui.core.targets import parse_target

ROOT = Path(__file__).resolve().parent.parent
BTC = parse_target("spot:BTC_USDT")
ETH = parse_target("spot:ETH_USDT")


def holder(directory: Path, *targets: str) -> subprocess.Popen[str]:
    """Another process that claims ``targets`` and holds them until it is killed."""
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from gui.core.owners import Owners
        from gui.core.targets import parse_target
        owners = Owners("main", "the test holder", Path({str(directory)!r}))
        owners.claim([parse_target(t) for t in {list(targets)!r}])
        print("held", flush=True)
        sys.stdin.read()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def end(proc: subprocess.Popen[str], sig: int = signal.SIGKILL) -> None:
    proc.send_signal(sig)
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()


def test_a_target_held_by_a_live_process_is_refused_naming_it(tmp_path: Path) -> None:
    proc = holder(tmp_path, "spot:BTC_USDT")
    try:
        mine = Owners("main", "this test", tmp_path)
        with pytest.raises(OwnedElsewhere) as info:
            mine.claim([ETH, BTC])
        assert f"the test holder (process {proc.pid})" in str(info.value)
        assert "spot:BTC_USDT" in str(info.value)
        # All or nothing: ETH, free, was not kept either.
        assert mine.held == []
        # Another profile's targets are another owner's business.
        other = Owners("other", "this test", tmp_path)
        other.claim([BTC])
        other.release_all()
    finally:
        end(proc)


def test_a_claim_of_a_process_that_died_is_stale_and_taken_over(tmp_path: Path) -> None:
    proc = holder(tmp_path, "spot:BTC_USDT")
    end(proc, signal.SIGKILL)  # no chance to release anything
    mine = Owners("main", "this test", tmp_path)
    assert mine.path(BTC).exists()
    mine.claim([BTC])
    assert mine.held == [BTC]
    mine.release_all()
    assert not mine.path(BTC).exists()


def test_a_released_claim_can_be_taken_by_another(tmp_path: Path) -> None:
    first = Owners("main", "first", tmp_path)
    first.claim([BTC, ETH])
    first.claim([BTC])  # held already: nothing changes
    first.release([BTC])
    assert first.held == [ETH]
    end(holder(tmp_path, "spot:BTC_USDT"))
    first.release_all()
