"""Shared fixtures. Every test talks to a real simulator on 127.0.0.1, never to the internet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gui.simulator import Simulator
from tests.simkeys import RO_KEY, RO_SECRET, TEST_KEY, TEST_SECRET

__all__ = ["RO_KEY", "RO_SECRET", "TEST_KEY", "TEST_SECRET"]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A running simulator with one read-write key and one read-only key, no open orders."""
    with Simulator(keys={TEST_KEY: TEST_SECRET}, read_only_keys={RO_KEY: RO_SECRET}) as running:
        yield running


@pytest.fixture
def demo_sim() -> Iterator[Simulator]:
    """Like ``sim``, with the demo's open spot and option orders."""
    with Simulator(keys={TEST_KEY: TEST_SECRET}, read_only_keys={RO_KEY: RO_SECRET},
                   demo=True) as running:
        yield running
