"""A Gate-compatible exchange on loopback, for ``--demo`` and for every test. No Qt here."""

from gui.simulator.demo import DEMO_KEY, DEMO_SECRET
from gui.simulator.exchange import Firing, RequestRecord
from gui.simulator.faults import Fault
from gui.simulator.server import Simulator

__all__ = ["DEMO_KEY", "DEMO_SECRET", "Fault", "Firing", "RequestRecord", "Simulator"]
