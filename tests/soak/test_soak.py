"""The soak (tests/soak/soak.py) under pytest: 2 minutes by default.

``GATE_KILLSWITCH_SOAK_MINUTES`` sets the armed time (``0`` skips it); the full soak is
``python tests/soak/soak.py --minutes 30``. In a pytest run the soak starts in its own process
as soon as the run is collected (tests/soak/conftest.py) and runs beside the other tests; it
uses a few percent of one core. Run alone, this test runs it in-process.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.soak.conftest import BACKGROUND, MINUTES
from tests.soak.soak import SoakConfig, report_figures, run_soak


@pytest.mark.slow
@pytest.mark.timeout(int(MINUTES * 60 + 180))
@pytest.mark.skipif(MINUTES <= 0, reason="GATE_KILLSWITCH_SOAK_MINUTES=0")
def test_soak_faults_that_clear_never_fire_and_faults_that_outlast_fire_exactly(
        capsys: pytest.CaptureFixture[str]) -> None:
    process = BACKGROUND.get("process")
    if process is not None:  # started at collection by tests/soak/conftest.py
        output, _ = process.communicate(timeout=MINUTES * 60 + 170)
        path = BACKGROUND["report"]
        assert path.exists(), output
        report = json.loads(path.read_text())
    else:
        seed = os.environ.get("GATE_KILLSWITCH_SOAK_SEED")
        report = report_figures(run_soak(SoakConfig(
            minutes=MINUTES, seed=int(seed) if seed else None, progress=None)))
    summary = report["summary"]
    with capsys.disabled():
        print("\n" + summary)
    assert report["ok"], summary
    assert report["phase1_firings"] == []
    assert report["fired_on_exchange"] == report["chosen_to_fire"] == report["reported_fired"]
    assert report["journal_missing"] == 0 and report["journal_extra"] == 0
    assert report["beats_acked"] > 0 and report["failures"] > 0 and report["retries"] > 0
    assert all(n <= 200 for n in report["max_per_10s"].values())


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_beat_delayed_past_the_client_timeout_never_rearms_a_stopped_target() -> None:
    """STOP while a beat is held by the network past the client's timeout: the timeout ends
    STOP's wait for it, its fate is unknown, and the sweep must clear it when it lands."""
    import asyncio
    import time

    from gui.core.client import GateClient
    from gui.core.heartbeat import Engine, State
    from gui.core.targets import parse_target
    from gui.simulator import Simulator
    from tests.soak.soak import KEY, SECRET

    target = parse_target("options:BTC_USDT")

    async def scenario(sim: Simulator) -> None:
        client = GateClient(sim.base_url, KEY, SECRET, timeout=1.0)
        engine = Engine(client, request_timeout=1.0, late_window=2.0)
        try:
            engine.arm([target], 5, 1.25)
            while engine.status(target).state is not State.ARMED:  # type: ignore[union-attr]
                await asyncio.sleep(0.01)
            added = time.monotonic()
            sim.add_fault("latency", latency_ms=1600, scope=str(target), count=1)
            # The next beat arrives and is held 1.6 s; the client gives up after 1 s.
            def held() -> list[Any]:
                return [r for r in sim.requests("/options/countdown_cancel_all")
                        if r.mono > added and r.timeout]

            while not held():
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.4)  # STOP lands while the beat is held...
            assert await engine.disarm() == {target: True}  # ...and its timeout ends the wait
            assert await engine.wait_sweeps(timeout=10)
            while held()[0].status == 0:  # the held beat reaches the exchange
                await asyncio.sleep(0.01)
            assert held()[0].status == 200
            assert sim.countdowns() == {}, "a stopped target was armed again"
        finally:
            await engine.shutdown(disarm=False)
            client.close()

    with Simulator(keys={KEY: SECRET}) as sim:
        asyncio.run(scenario(sim))
