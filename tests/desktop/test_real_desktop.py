"""The app on a real Linux desktop: its tray icon, notifications, keyring and theme.

The suite runs offscreen, with one QApplication for every test; these need the xcb platform on
a real X server, so ``tests/gui/on_desktop`` runs once in a pytest of its own on the stack
(stack.py) and each of its tests is reported here by name. A test missing from that run fails
here too, as does any skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.desktop.stack import DesktopStack

ROOT = Path(__file__).resolve().parents[2]
INNER = ROOT / "tests" / "gui" / "on_desktop"
TESTS = (
    "test_the_tray_icon_is_embedded_in_the_tray_host",
    "test_alerts_reach_the_notification_server_and_show_the_window",
    "test_stop_from_the_time_short_notification",
    "test_a_key_is_kept_in_gnome_keyring_through_the_keys_dialog",
    "test_sleep_and_wake_from_logind",
    "test_the_theme_switches_live_on_the_screen",
    "test_compact_mode_shows_a_strip_on_top",
    "test_a_hung_notification_server_never_holds_the_window_up",
    "test_a_server_that_plays_sounds_gets_the_sound_hint_and_no_beep",
    "test_a_server_hung_at_start_holds_nothing_up",
)


@pytest.fixture(scope="session")
def desktop_run(desktop_stack: DesktopStack,
                tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """Each on-desktop test's outcome ('passed', 'failed', 'skipped', 'error') and report."""
    report = tmp_path_factory.mktemp("desktop-run") / "report.xml"
    env = {**desktop_stack.env,
           "GATE_KILLSWITCH_ON_DESKTOP": "1",
           "GATE_KILLSWITCH_DESKTOP_BUS": desktop_stack.bus,
           "QT_QPA_PLATFORM": "xcb",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                         if p)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "-rA",
         f"--junitxml={report}", str(INNER)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    if not report.exists():
        pytest.fail(f"the on-desktop tests did not run:\n{output}")
    outcomes: dict[str, tuple[str, str]] = {}
    # Our own pytest wrote it a moment ago.
    for case in ET.parse(report).iter("testcase"):  # noqa: S314
        outcome, detail = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = child.tag
                detail = (child.get("message") or "") + "\n" + (child.text or "")
        outcomes[case.get("name", "?")] = (outcome, detail + "\n" + output[-4000:])
    return outcomes


def test_the_on_desktop_run_holds_exactly_these_tests(desktop_run):
    assert sorted(desktop_run) == sorted(TESTS)


@pytest.mark.parametrize("name", TESTS)
def test_on_a_real_desktop(desktop_run, name):
    outcome, detail = desktop_run.get(name, ("missing", "it did not run"))
    assert outcome == "passed", f"{name}: {outcome}\n{detail}"
