"""Run the 2-minute soak beside the rest of the suite.

The soak mostly waits (a few percent of one core), so it starts in its own process as soon as
the run is collected, and its test, moved to the end of the run, collects the report. That
keeps the whole suite within its time without shortening the soak. Under pytest-xdist (the
default, two workers) every worker collects every test, so none starts it: the worker given
the soak's test runs it in-process while the other goes on with the rest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOAK_TEST = "test_soak_faults_that_clear_never_fire_and_faults_that_outlast_fire_exactly"
MINUTES = float(os.environ.get("GATE_KILLSWITCH_SOAK_MINUTES", "2"))
BACKGROUND: dict[str, Any] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    soak = [item for item in items if item.name == SOAK_TEST]
    for item in soak:
        items.remove(item)
        items.append(item)


def pytest_collection_finish(session: pytest.Session) -> None:
    if MINUTES <= 0 or not any(item.name == SOAK_TEST for item in session.items):
        return
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # every worker collects every test: the soak runs in the worker given its test
    home = Path(tempfile.mkdtemp(prefix="gate-killswitch-soak-"))
    env = dict(os.environ, **{f"GATE_KILLSWITCH_{d}_DIR": str(home / d.lower())
                              for d in ("CONFIG", "DATA", "CACHE", "STATE")})
    command = [sys.executable, "-m", "tests.soak.soak", "--minutes", str(MINUTES),
               "--json", str(home / "report.json")]
    seed = os.environ.get("GATE_KILLSWITCH_SOAK_SEED")
    if seed:
        command += ["--seed", seed]
    BACKGROUND["process"] = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    BACKGROUND["report"] = home / "report.json"


def pytest_unconfigure(config: pytest.Config) -> None:
    process = BACKGROUND.get("process")
    if process is not None and process.poll() is None:  # the run was cut short
        process.kill()
        process.communicate()
