"""A start after a run that left countdowns armed: cards that count down, Resume, Disarm now."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from gui.core.armed import ArmedRecorder
from gui.core.client import GateClient
from gui.core.clock import monotonic
from gui.core.heartbeat import State
from gui.core.targets import parse_target
from gui.simulator import Simulator
from tests.gui.conftest import AppFactory, card_states
from tests.simkeys import TEST_KEY, TEST_SECRET

BTC = parse_target("spot:BTC_USDT")
ETH = parse_target("spot:ETH_USDT")
OPT = parse_target("options:BTC_USDT")


def leave_armed(sim: Simulator) -> dict[str, int]:
    """Arm BTC and ETH on the exchange as a killed run would have, and leave OPT's record
    with a trigger time already past, all on the record of profile "main"."""
    recorder = ArmedRecorder("main", sim.base_url)
    client = GateClient(sim.base_url, TEST_KEY, TEST_SECRET)
    try:
        triggers = {}
        for target in (BTC, ETH):
            recorder.armed(target, 30, 7.5)
            recorder.sent(target, 30, sim.server_time())
            ack = client.countdown(target, 30)
            recorder.acked(target, 30, ack.trigger_time_ms)
            triggers[str(target)] = ack.trigger_time_ms
        recorder.armed(OPT, 30, 7.5)
        recorder.acked(OPT, 30, int((sim.server_time() - 40) * 1000))
        assert recorder.flush()
    finally:
        client.close()
    return triggers


def test_a_start_shows_what_was_left_armed_and_offers_resume_and_disarm(
        make_app: AppFactory, demo_sim: Simulator, qtbot: Any, tmp_path: Path) -> None:
    triggers = leave_armed(demo_sim)
    app = make_app()
    app.use_client(GateClient(demo_sim.base_url, TEST_KEY, TEST_SECRET), "Profile: main",
                   demo_sim.base_url, "main")
    window = app.window
    qtbot.waitUntil(lambda: len(window.cards) == 3, timeout=5_000)
    assert card_states(app) == {"spot:BTC_USDT": State.LEFT_ARMED,
                                "spot:ETH_USDT": State.LEFT_ARMED,
                                "options:BTC_USDT": State.FIRED}
    btc = window.cards[BTC]
    assert btc.headline.text().startswith("LEFT ARMED by an earlier run")
    assert btc.resume.isVisibleTo(btc) and btc.disarm_now.isVisibleTo(btc)
    assert not btc.dismiss.isVisibleTo(btc)
    want = triggers["spot:BTC_USDT"] / 1000 - demo_sim.server_time()
    left = btc.time_left(monotonic())
    assert left is not None and abs(left - want) < 1.0
    assert time.strftime("%H:%M:%S", time.localtime(triggers["spot:BTC_USDT"] / 1000)) \
        in btc.reason.text()
    window.tick()
    assert "Not armed" not in window.summary.text()
    assert "Left armed by an earlier run" in window.summary.text()
    assert window.summary.property("state") == "fired"  # the loudest: OPT ran out
    assert "FIRED: options:BTC_USDT" in window.summary.text()

    opt = window.cards[OPT]  # FIRED, with its scope's open orders now
    qtbot.waitUntil(lambda: opt.orders.text() != "checking…", timeout=5_000)
    assert "could not" not in opt.orders.text()

    btc.resume.click()
    qtbot.waitUntil(lambda: window.cards[BTC].state is State.ARMED, timeout=10_000)
    assert demo_sim.countdowns()["spot:BTC_USDT"] > triggers["spot:BTC_USDT"]
    window.cards[ETH].disarm_now.click()
    qtbot.waitUntil(lambda: window.cards[ETH].state is State.DISARMED, timeout=10_000)
    assert "spot:ETH_USDT" not in demo_sim.countdowns()

    assert app.engine is not None and isinstance(app.engine.recorder, ArmedRecorder)
    assert app.engine.recorder.flush()
    [state_file] = _state_files()
    record = json.loads(state_file.read_text())
    assert record["targets"]["spot:ETH_USDT"]["state"] == "disarmed"
    assert record["targets"]["options:BTC_USDT"]["state"] == "fired"
    events = [json.loads(line) for line in (tmp_path / "data" / "journal.jsonl").read_text()
              .splitlines()]
    kinds = [(e["event"], e.get("target")) for e in events]
    assert ("reconcile", "spot:BTC_USDT") in kinds and ("resume", "spot:BTC_USDT") in kinds
    assert ("disarmed", "spot:ETH_USDT") in kinds


def _state_files() -> list[Path]:
    from gui.core.paths import state_dir

    return sorted(state_dir().glob("armed-*.json"))


def test_a_card_left_armed_turns_fired_when_the_exchange_fires(
        make_app: AppFactory, demo_sim: Simulator, qtbot: Any) -> None:
    recorder = ArmedRecorder("main", demo_sim.base_url)
    client = GateClient(demo_sim.base_url, TEST_KEY, TEST_SECRET)
    try:
        recorder.armed(ETH, 5, 1.25)
        recorder.acked(ETH, 5, client.countdown(ETH, 5).trigger_time_ms)
        assert recorder.flush()
    finally:
        client.close()
    app = make_app(use_tray=True)
    app.use_client(GateClient(demo_sim.base_url, TEST_KEY, TEST_SECRET), "Profile: main",
                   demo_sim.base_url, "main")
    qtbot.waitUntil(lambda: ETH in app.window.cards, timeout=5_000)
    assert app.tray is not None
    app.tray.refresh()
    assert "not armed" not in app.tray.icon.toolTip().lower()
    assert "left armed" in app.tray.icon.toolTip().lower()
    qtbot.waitUntil(lambda: app.window.cards[ETH].state is State.FIRED, timeout=8_000)
    assert [f.scope for f in demo_sim.firings()] == ["spot:ETH_USDT"]
    assert app.window.cards[ETH].dismiss.isVisibleTo(app.window.cards[ETH])


def test_quit_leaving_it_armed_is_journaled_and_shown_on_the_next_start(
        make_app: AppFactory, demo_sim: Simulator, qtbot: Any, tmp_path: Path) -> None:
    import asyncio

    first = make_app()
    first.use_client(GateClient(demo_sim.base_url, TEST_KEY, TEST_SECRET), "Profile: main",
                     demo_sim.base_url, "main")
    first.arm([BTC], 30, 7.5)
    qtbot.waitUntil(lambda: first.window.cards[BTC].state is State.ARMED, timeout=10_000)
    future = asyncio.ensure_future(first.quit_now())  # "quit and let it fire"
    qtbot.waitUntil(future.done, timeout=20_000)
    trigger = demo_sim.countdowns()["spot:BTC_USDT"]
    events = [json.loads(line) for line in (tmp_path / "data" / "journal.jsonl").read_text()
              .splitlines()]
    [left] = [e for e in events if e["event"] == "left_armed"]
    assert left["target"] == "spot:BTC_USDT" and left["trigger_time_ms"] == trigger
    assert left["profile"] == "main"
    assert [e["event"] for e in events if e["event"] in ("start", "exit")] == ["start", "exit"]

    again = make_app()
    again.use_client(GateClient(demo_sim.base_url, TEST_KEY, TEST_SECRET), "Profile: main",
                     demo_sim.base_url, "main")
    qtbot.waitUntil(lambda: BTC in again.window.cards, timeout=5_000)
    card = again.window.cards[BTC]
    assert card.state is State.LEFT_ARMED
    assert time.strftime("%H:%M:%S", time.localtime(trigger / 1000)) in card.reason.text()
    again.window.journal.add_record({"event": "reconcile", "target": "spot:BTC_USDT",
                                     "profile": "main", "message": "spot:BTC_USDT: x"})
    qtbot.waitUntil(lambda: any("[main] x" in row[3]
                                for row in again.window.journal.row_texts()), timeout=5_000)


def test_a_stop_answered_only_after_the_deadline_is_fired_and_the_card_stays(
        make_app: AppFactory, demo_sim: Simulator, qtbot: Any) -> None:
    app = make_app()
    app.arm([BTC, ETH, OPT], 5, 1.25)
    qtbot.waitUntil(lambda: all(s is State.ARMED for s in card_states(app).values()),
                    timeout=10_000)
    # Every request hangs longer than the countdown has left; STOP is pressed meanwhile.
    fault = demo_sim.add_fault("hang", path="/api/v4/spot/countdown_cancel_all")
    options_fault = demo_sim.add_fault("hang", path="/api/v4/options/countdown_cancel_all")
    app.stop()
    qtbot.waitUntil(lambda: len(demo_sim.firings()) == 3, timeout=10_000)
    demo_sim.clear_faults(fault)
    demo_sim.clear_faults(options_fault)
    qtbot.waitUntil(lambda: all(s is State.FIRED for s in card_states(app).values()),
                    timeout=15_000)
    qtbot.waitUntil(lambda: any("FIRED before the stop was confirmed" in t
                                for t in app.window.banner.texts()), timeout=5_000)
    card = app.window.cards[BTC]
    assert card.headline.text().startswith("FIRED")
    assert "before the exchange confirmed the stop" in card.reason.text()
    assert card.dismiss.isVisibleTo(card)  # it stays until dismissed


def test_a_card_left_armed_turns_fired_at_once_after_a_suspend_with_the_network_down(
        make_app: AppFactory, demo_sim: Simulator, qtbot: Any) -> None:
    recorder = ArmedRecorder("main", demo_sim.base_url)
    client = GateClient(demo_sim.base_url, TEST_KEY, TEST_SECRET)
    try:
        recorder.armed(ETH, 600, 150.0)
        recorder.acked(ETH, 600, client.countdown(ETH, 600).trigger_time_ms)
        assert recorder.flush()
    finally:
        client.close()
    app = make_app()
    asleep = [0.0]
    # A clock that counts through a suspend, as CLOCK_BOOTTIME does; Qt's timers do not.
    app.left_armed.clock = lambda: monotonic() + asleep[0]
    app.use_client(GateClient(demo_sim.base_url, TEST_KEY, TEST_SECRET), "Profile: main",
                   demo_sim.base_url, "main")
    qtbot.waitUntil(lambda: ETH in app.window.cards, timeout=5_000)
    assert app.window.cards[ETH].state is State.LEFT_ARMED
    demo_sim.add_fault("drop")  # the network is down: nothing to learn from the exchange
    asleep[0] = 601.0
    qtbot.waitUntil(lambda: app.window.cards[ETH].state is State.FIRED, timeout=3_000)


def test_the_profile_does_not_change_while_countdowns_left_armed_still_run(
        make_app: AppFactory, demo_sim: Simulator, qtbot: Any) -> None:
    leave_armed(demo_sim)
    app = make_app()
    app.use_client(GateClient(demo_sim.base_url, TEST_KEY, TEST_SECRET), "Profile: main",
                   demo_sim.base_url, "main")
    qtbot.waitUntil(lambda: len(app.window.cards) == 3, timeout=5_000)
    other = GateClient(demo_sim.base_url, TEST_KEY, TEST_SECRET)
    assert not app.use_client(other, "Profile: other", demo_sim.base_url, "other")
    other.close()
    # Still shown, and still counted: the header never says "Not armed" while they run.
    assert card_states(app)["spot:BTC_USDT"] is State.LEFT_ARMED
    assert app.window.summary.text() != "Not armed"
    assert any(t.startswith("Still left armed") for t in app.window.banner.texts())


def test_without_a_keyring_what_was_left_armed_still_shows_and_resume_says_why_not(
        demo_sim: Simulator, qtbot: Any, qloop: Any, tmp_path: Path) -> None:
    """The state file needs no key: with the keyring unreadable, the countdowns an earlier run
    left armed are shown (never "Not armed"), Resume and Disarm now are refused in words that
    name the keyring, and once the key loads the same profile takes them over."""
    from gui.controller import AppController
    from gui.core.journal import Journal
    from gui.core.keys import KeyStore, ProfileStore
    from gui.core.settings import Profile, Settings, SettingsStore
    from gui.options import GuiOptions
    from tests.gui.conftest import INTERVAL, TIMEOUT
    from tests.memkeyring import MemoryKeyring, no_backend

    leave_armed(demo_sim)
    settings = SettingsStore(tmp_path / "config")
    settings.save(Settings(profiles={"main": Profile("main", demo_sim.base_url)}))
    profiles = ProfileStore(settings, KeyStore(no_backend()))
    app = AppController(GuiOptions(profile="main", timeout=TIMEOUT, interval=INTERVAL),
                        settings_store=settings, journal=Journal(tmp_path / "data"),
                        profile_store=profiles, use_tray=False)
    window = app.window
    try:
        app.start()
        qtbot.waitUntil(lambda: len(window.cards) == 3, timeout=5_000)
        assert card_states(app) == {"spot:BTC_USDT": State.LEFT_ARMED,
                                    "spot:ETH_USDT": State.LEFT_ARMED,
                                    "options:BTC_USDT": State.FIRED}
        assert "Left armed by an earlier run: spot:BTC_USDT, spot:ETH_USDT" in window.summary.text()
        assert "keyring" in window.cards[BTC].orders.toolTip()
        before = len(demo_sim.requests("/spot/countdown_cancel_all"))
        window.cards[BTC].resume.click()
        window.cards[ETH].disarm_now.click()
        qtbot.wait(100)
        texts = window.banner.texts()
        assert any(t.startswith("Cannot resume") and "keyring" in t for t in texts)
        assert any(t.startswith("Cannot disarm") and "keyring" in t for t in texts)
        assert len(demo_sim.requests("/spot/countdown_cancel_all")) == before
        assert card_states(app)["spot:BTC_USDT"] is State.LEFT_ARMED
        # A second launch for this profile is told why it cannot arm here: the keyring.
        from gui.core.arm_request import ForwardedRequest
        asked = app.spawn(app.answer_launch(ForwardedRequest(
            arm=["spot:SOL_USDT"], timeout=None, interval=None, profile="main", demo=False)))
        qtbot.waitUntil(asked.done, timeout=5_000)
        assert not asked.result().ok and "keyring" in asked.result().message
        # The keyring opens and the profile is chosen again: it takes its countdowns over.
        unlocked = MemoryKeyring()
        KeyStore(unlocked).store("main", TEST_KEY, TEST_SECRET)
        profiles.key_store = KeyStore(unlocked)
        app.spawn(app.load_profile("main"))
        qtbot.waitUntil(lambda: app.engine is not None, timeout=5_000)
        qtbot.waitUntil(lambda: card_states(app).get("spot:BTC_USDT") is State.LEFT_ARMED,
                        timeout=5_000)
        window.cards[BTC].resume.click()
        qtbot.waitUntil(lambda: card_states(app).get("spot:BTC_USDT") is State.ARMED,
                        timeout=5_000)
    finally:
        with qtbot.waitSignal(app.finished, timeout=10_000):
            app.spawn(app.quit_now())
        window.deleteLater()
        app.deleteLater()
