"""The app's controller: owns the pieces (client, engine, adapter, window, tray, notifier) and
turns what the person asks for into engine calls.

Tests build :class:`AppController` directly with a client to the simulator. Data flows one way
(docs/ARCHITECTURE.md): widgets ask, the controller calls the engine, the engine's events come
back through the adapter as statuses the widgets draw.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMessageBox

from gui.adapter import EngineAdapter, PreciseClock
from gui.core.armed import ArmedRecorder
from gui.core.heartbeat import EventKind, State
from gui.core.orders import fetch_open_orders
from gui.core.pool import RequestPool
from gui.desktop_notify import DesktopNotifications
from gui.dialogs.quit_dialog import QuitDialog
from gui.keyless import KeylessProfile
from gui.left_armed import LeftArmed
from gui.notifications import Notifier
from gui.options import GuiOptions, Phase
from gui.preferences import Preferences
from gui.qt_workarounds import guard_refcounts
from gui.remembered import restore_window, save_window
from gui.sleep_watch import SleepReaction, SleepWatch
from gui.startup import startup_figures
from gui.tasks import in_thread
from gui.theme import Theme
from gui.tray import Tray
from gui.window.compact import CompactMode
from gui.window.main_window import MainWindow, confirm_cancel_now
from gui.words import cancel_now_report, stop_report

if TYPE_CHECKING:
    from gui.core.arm_request import ForwardedRequest, LaunchReply
    from gui.core.client import GateClient
    from gui.core.heartbeat import Engine, EngineEvent, TargetStatus
    from gui.core.journal import Journal
    from gui.core.keys import ProfileStore
    from gui.core.owners import Owners
    from gui.core.settings import Settings, SettingsStore
    from gui.core.targets import Target
    from gui.dialogs.selfcheck_dialog import SelfCheckDialog
    from gui.simulator import Simulator


log = logging.getLogger(__name__)

ORDERS_REFRESH_MS = 10_000
NOTICE_TRAY = "close-to-tray"


class AppController(QObject):
    """Owns the app's pieces and carries out what the person asks for.

    Build it, then call :meth:`start` once the qasync loop runs. ``finished(code)`` is emitted
    when the app has quit (engine shut down, window closed).
    """

    finished = Signal(int)

    def __init__(
        self,
        options: GuiOptions,
        *,
        settings_store: SettingsStore,
        journal: Journal,
        profile_store: ProfileStore | None = None,
        client: GateClient | None = None,
        client_label: str = "",
        cache_key: str = "",
        simulator: Simulator | None = None,
        use_tray: bool | None = None,
        use_desktop_bus: bool | None = None,
        theme: Theme | None = None,
        picker: Any = None,
    ) -> None:
        super().__init__()
        guard_refcounts()
        self.options = options
        self.settings_store = settings_store
        self.settings: Settings = settings_store.load()
        self.journal = journal
        self.profile_store = profile_store
        self.simulator = simulator
        self.client: GateClient | None = None
        self.engine: Engine | None = None
        self.profile_name: str | None = None
        self._cache_key = cache_key
        self._stopping = False
        self._phase = Phase.NEW
        self._pending_arm: list[Target] = list(options.arm)
        self._tasks: set[asyncio.Future[Any]] = set()
        self._orders_busy = False
        self._orders_again = False
        self._quit_dialog: QuitDialog | None = None
        self._cancel_box: QMessageBox | None = None
        self._keys_dialog: Any = None
        self._done: asyncio.Future[int] | None = None
        self._retired_engines: list[Engine] = []
        # Every engine's requests, one pool for the app's life (gui/core/pool.py: arming many
        # does not start threads on the GUI thread).
        self._requests = RequestPool(max_workers=256, thread_name_prefix="gate-request")
        self._loading_profile = False
        self._owners: Owners | None = None
        self.selfcheck_dialog: SelfCheckDialog | None = None  # the last one opened

        self.adapter = EngineAdapter(self)
        self.adapter.attach_journal(journal)
        self.left_armed = LeftArmed(journal, self.adapter.statusChanged.emit,
                                    lambda *a: self.window.post(*a), self)
        self.window = MainWindow(demo=options.demo, picker=picker,
                                 journal_dir=journal.directory)
        self.window.set_close_guard(self._window_closing)
        # A profile whose key the keyring withheld: its markets, and what it left armed.
        self.keyless = KeylessProfile(self.window, self.left_armed, journal)
        if use_tray is None:
            use_tray = Tray.available()
        self.tray: Tray | None = Tray(self) if use_tray else None
        # The desktop's buses: notifications on the session bus, sleep on the system bus.
        desktop = None if use_desktop_bus is False else DesktopNotifications.connect_session(self)
        self.notifier = Notifier(self.window.banner, self.tray, self, desktop=desktop,
                                 sound=self.settings.alert_sound)
        self.notifier.showWindowRequested.connect(self.show_window)
        self.notifier.stopRequested.connect(self.stop)
        self.preferences = Preferences(settings_store, self.notifier, theme, self.window, self)
        self.compact = CompactMode(settings_store, self)
        self.adapter.statusChanged.connect(self.compact.update_status)
        self.compact.stopRequested.connect(self.stop)
        self.compact.showWindowRequested.connect(self.show_window)
        watch = None if use_desktop_bus is False else SleepWatch.connect_system(self)
        self.sleep = None if watch is None else SleepReaction(
            watch, journal, lambda: self.engine, self.spawn, self._redraw_statuses,
            self.refresh_orders, self)

        self.adapter.eventReceived.connect(self._on_event)
        self.adapter.statusChanged.connect(self._on_status)
        self.adapter.journalRecord.connect(self.window.journal.add_record)
        w = self.window
        w.armRequested.connect(self.arm_selected)
        w.stopRequested.connect(self.stop)
        w.cancelNowRequested.connect(self.cancel_now)
        w.keysRequested.connect(self.open_keys_dialog)
        w.preferencesRequested.connect(self.preferences.open)
        w.compactRequested.connect(self.compact.toggle)
        w.quitRequested.connect(self.request_quit)
        w.selfCheckRequested.connect(self.open_selfcheck)
        w.dismissRequested.connect(self.dismiss)
        w.resumeRequested.connect(self.resume_left)
        w.disarmNowRequested.connect(self.disarm_left)
        w.firstPainted.connect(self._first_painted)
        w.picker.selectionChanged.connect(w.refresh_arm_state)
        if self.tray is not None:
            self.adapter.statusChanged.connect(self.tray.update_status)
            w.armableChanged.connect(self.tray.set_can_arm)
            self.tray.armRequested.connect(self.arm_selected)
            self.tray.stopRequested.connect(self.stop)
            self.tray.toggleWindowRequested.connect(self.toggle_window)
            self.tray.showWindowRequested.connect(self.show_window)
            self.tray.cancelNowRequested.connect(self.cancel_now)
            self.tray.preferencesRequested.connect(self.preferences.open)
            self.tray.compactRequested.connect(self.compact.toggle)
            self.tray.quitRequested.connect(self.request_quit)

        self._orders_timer = QTimer(self)
        self._orders_timer.setInterval(ORDERS_REFRESH_MS)
        self._orders_timer.timeout.connect(self.refresh_orders)
        # A sweep ends without an event: its claim is given up on the next tick at the latest.
        self._orders_timer.timeout.connect(self._release_unbeaten)
        # Engine events ask for the mode to be refreshed; a burst of them (200 targets arming
        # or beating at once) gets one refresh when the loop next turns, not one per event.
        self._mode_timer = QTimer(self)
        self._mode_timer.setSingleShot(True)
        self._mode_timer.setInterval(0)
        self._mode_timer.timeout.connect(self._refresh_mode_due)

        self._restore_settings()
        if options.demo:
            w.keys_button.setEnabled(False)
            w.keys_button.setToolTip("The demo uses the simulator's own demo key.")
        if client is not None:
            self.use_client(client, client_label or "Exchange", cache_key)
        else:
            w.set_can_arm(False, "No API key loaded yet: choose a profile (Keys…).")

    # ------------------------------------------------------------------ start and settings

    def _restore_settings(self) -> None:
        restore_window(self.window, self.settings, self.options)

    def save_settings(self, *, geometry: bool = False) -> None:
        """Remember the profile, targets, timeout, interval (and window geometry). Never keys."""
        saved = save_window(self.window, self.settings_store, self.settings, self.options,
                            self.profile_name, geometry=geometry)
        if saved is not None:
            self.settings = saved

    @property
    def phase(self) -> Phase:
        return self._phase

    def _advance(self, phase: Phase) -> None:
        self._phase = max(self._phase, phase)

    def start(self) -> None:
        """Show the window and begin; call once the event loop runs."""
        if self._phase >= Phase.STARTED:
            return
        self._advance(Phase.STARTED)
        self.journal.write("start", front_end="window", demo=self.options.demo,
                           message="the window started")
        if not (self.options.start_hidden and self.tray is not None):
            self.window.show()
        else:  # no first paint is coming: what waits for it starts now
            QTimer.singleShot(0, self._first_painted)
        if self.tray is not None:
            self.tray.show()
        if self.client is None and not self.options.demo and self.profile_store is not None:
            self.spawn(self.load_profile(self.options.profile))
        elif self._pending_arm and self.engine is not None:
            self._arm_pending()

    async def run(self) -> int:
        """Start, wait until the app quits, return the exit code (for :func:`run_gui`)."""
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        self.start()
        return await self._done

    def _first_painted(self) -> None:
        if self._phase >= Phase.PAINTED:
            return
        self._advance(Phase.PAINTED)
        if self.options.self_test:
            print(json.dumps(startup_figures(self.options.process_start)), flush=True)
            QTimer.singleShot(0, lambda: self.spawn(self.quit_now()))
            return
        # Work that is not needed for the first paint starts after it: startup stays fast.
        if self.client is not None:
            self.window.picker.set_client(self.client, self._cache_key)
        self.keyless.first_painted()
        self.spawn(self._load_journal())
        self._orders_timer.start()
        self.refresh_orders()

    async def _load_journal(self) -> None:
        records = await in_thread(self.journal.recent, 200)
        self.window.journal.load(records)

    # ------------------------------------------------------------------ tasks

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        """Run ``coro`` on the loop; its failure is logged and shown, never lost."""
        future = asyncio.ensure_future(coro)
        self._tasks.add(future)
        future.add_done_callback(self._task_done)
        return future

    def _task_done(self, future: asyncio.Future[Any]) -> None:
        self._tasks.discard(future)
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            log.error("A background job failed", exc_info=exc)
            self.window.post("critical", "Something went wrong",
                             f"{type(exc).__name__}: {exc}. Details are in the log.")

    # ------------------------------------------------------------------ client and profile

    def use_client(self, client: GateClient, label: str, cache_key: str,
                   profile: str | None = None) -> bool:
        """Talk to the exchange through ``client`` from now on (a new engine for it). With a
        ``profile``, what is armed is recorded, and what earlier runs left is shown."""
        from gui.core.heartbeat import Engine

        if self.engine is not None and (self.engine.armed_targets or self._stopping):
            self.window.post("warning", "Still armed",
                             "Stop first: the profile cannot change while targets are armed.",
                             key="profile")
            return False
        if self.left_armed.targets and self.left_armed.profile != profile:
            # Their cards would go, and the header would say "Not armed" while they run.
            self.window.post("warning", "Still left armed",
                             "Countdowns an earlier run left armed still run on this profile ("
                             + ", ".join(map(str, self.left_armed.targets)) + "): disarm them "
                             "or let them fire before changing the profile.", key="profile")
            return False
        old_engine, old_client = self.engine, self.client
        if self._owners is not None:
            self._owners.release_all()
        self.client = client
        self._cache_key = cache_key or client.base_url
        recorder = ArmedRecorder(profile, client.base_url) if profile else None
        self.journal.set_context(profile=profile or ("demo" if self.options.demo else None))
        self.engine = Engine(client, journal=self.journal, clock=PreciseClock(),
                             recorder=recorder, executor=self._requests)
        self.adapter.attach(self.engine)
        self.window.set_profile_text(label)
        self.window.set_can_arm(True)
        self.left_armed.clear()
        for target in [*self.window.cards, *self.window.waiting.targets]:
            self._remove_card(target)
        self.left_armed.reconcile(recorder, self._pending_arm)
        if self._phase >= Phase.PAINTED:
            self.window.picker.set_client(client, self._cache_key)
            self.refresh_orders()
        self.keyless.clear()
        if old_engine is not None:
            self._retired_engines.append(old_engine)
            self.spawn(self._retire(old_engine, old_client))
        return True

    async def _retire(self, engine: Engine, client: GateClient | None) -> None:
        await engine.shutdown(disarm=False)
        if engine in self._retired_engines:
            self._retired_engines.remove(engine)
        if client is not None:
            client.close()

    async def load_profile(self, name: str | None) -> bool:
        """Load a profile's key from the keyring and use it. False (and said why) if not."""
        store = self.profile_store
        if store is None:
            return False
        self._loading_profile = True
        try:
            return await self._load_profile(store, name)
        finally:
            self._loading_profile = False

    async def _load_profile(self, store: ProfileStore, name: str | None) -> bool:
        from gui.core.client import GateClient
        from gui.core.keys import KeyringUnavailable, KeysError

        name = name or self.settings.last_profile
        if name is None:
            profiles = store.settings_store.load().profiles
            if len(profiles) == 1:
                name = next(iter(profiles))
        if name is None:
            self.window.set_can_arm(False, "No profile yet: create one with Keys…")
            self.window.post("info", "No profile yet",
                             "Add your Gate API key in the Keys dialog to begin.", key="profile")
            self.open_keys_dialog()
            return False
        try:
            profile = store.profile(name)
            credentials = await in_thread(store.credentials, name)
        except KeyringUnavailable as exc:  # what needs no key goes on: the profile, the lists
            self.keyless.show(profile, str(exc), painted=self._phase >= Phase.PAINTED,
                              keep=self.client is not None)
            return False
        except KeysError as exc:
            self.window.set_can_arm(False, f"Profile {name!r} cannot be used yet.")
            self.window.post("warning", f"Profile {name}", str(exc), key="profile")
            self.open_keys_dialog()
            return False
        try:
            client = GateClient(profile.base_url, credentials.key, credentials.secret)
        except Exception as exc:
            self.window.post("critical", f"Profile {name}", str(exc), key="profile")
            return False
        if not self.use_client(client, f"Profile: {name}", profile.base_url, name):
            client.close()
            return False
        self.window.banner.dismiss("profile")
        self.profile_name = name
        self.save_settings()
        if self._pending_arm:
            self._arm_pending()
        return True

    def open_keys_dialog(self) -> None:
        if self.profile_store is None:
            return
        if self._keys_dialog is not None:
            self._keys_dialog.show()
            self._keys_dialog.raise_()
            return
        try:
            from gui.dialogs.keys_dialog import ProfilesDialog
        except ImportError as exc:
            self.window.post("critical", "Keys dialog unavailable", str(exc))
            return
        dialog = ProfilesDialog(self.profile_store, self.window)
        dialog.profileChosen.connect(lambda name: self.spawn(self.load_profile(name)))
        dialog.profilesChanged.connect(self._profiles_changed)
        dialog.finished.connect(self._keys_dialog_closed)
        self._keys_dialog = dialog
        dialog.open()

    def open_selfcheck(self, target: Target) -> None:
        """Self-check… for one target (gui/dialogs/selfcheck_dialog.py). Its claim on the
        target is given up on the orders timer's next tick after it ends."""
        from gui.dialogs.selfcheck_dialog import open_selfcheck

        started = open_selfcheck(self.window, self.client, target, journal=self.journal,
                                 armed=self.engine.armed_targets if self.engine else [],
                                 demo=self.options.demo, claim=self._claim,
                                 post=self.window.post)
        if started is not None:
            self.selfcheck_dialog, job = started
            self.spawn(job)

    def _keys_dialog_closed(self) -> None:
        dialog, self._keys_dialog = self._keys_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    def _profiles_changed(self) -> None:
        self.settings = self.settings_store.load()
        # The first profile saved is used at once; later choices come through profileChosen.
        if self.client is None and not self._loading_profile:
            self.spawn(self.load_profile(None))

    # ------------------------------------------------------------------ arm and stop

    def _arm_pending(self) -> None:
        targets, self._pending_arm = self._pending_arm, []
        timeout, interval = self.window.timing()
        self.arm(targets, timeout, interval)

    def arm_selected(self) -> None:
        if self.window.mode != "arm":
            return
        timeout, interval = self.window.timing()
        self.arm(self.window.picker.selected_targets(), timeout, interval)

    def arm(self, targets: Sequence[Target], timeout: int, interval: float | None) -> bool:
        """Arm ``targets``. Problems are shown in the window; returns whether it armed."""
        problem = self.try_arm(list(targets), timeout, interval)
        if problem is not None:
            self.window.post("warning", "Cannot arm", problem, key="arm")
        return problem is None

    def try_arm(self, targets: list[Target], timeout: int, interval: float | None
                ) -> str | None:
        """Arm ``targets`` as ARM does: what stopped it, or None (it is arming)."""
        from gui.core.arm_request import drop_covered
        from gui.core.errors import InvalidInputError
        from gui.core.heartbeat import check_interval

        engine = self.engine
        if engine is None:
            return self.keyless.refusal("Arming") or "No API key is loaded: choose a profile."
        chosen, dropped = drop_covered(targets)
        if not chosen:
            return "Choose at least one market to protect."
        try:
            check_interval(timeout, interval)
            refusal = self._claim(chosen)
            if refusal is not None:
                return refusal
            # Cards of earlier targets (disarmed, fired, failed) give way to the new set.
            for target in [*self.window.cards, *self.window.waiting.targets]:
                status = engine.status(target)
                if target in self.left_armed:
                    continue  # still counting down on the exchange
                if status is None or not (status.state.live or status.state is State.STOPPING):
                    if target not in chosen:
                        self._remove_card(target)
                        engine.forget(target)
            warning = engine.arm(chosen, timeout, interval,
                                 left=self.left_armed.take(chosen))
        except InvalidInputError as exc:
            return str(exc)
        self.window.banner.dismiss("arm")
        self.window.banner.dismiss("stop")
        if dropped:
            self.window.post("info", "Covered", " ".join(
                f"{gone} is left out: {by} already covers it." for gone, by in dropped),
                key="covered")
        if warning:
            self.window.post("warning", "Beat interval", warning, key="interval")
        self.save_settings()
        self._refresh_mode()
        self.refresh_orders()
        return None

    async def answer_launch(self, request: ForwardedRequest) -> LaunchReply:
        """A second launch's request, carried out through the same path as ARM."""
        from gui.core.arm_request import LaunchReply, carry_out

        if self._phase >= Phase.QUITTING:
            return LaunchReply(False, "it is quitting; launch again once it has.")
        self.show_window()
        keyless = self.keyless.profile  # chosen, its key not loaded: still the one in use
        return await carry_out(request, demo=self.options.demo,
                               profile=self.profile_name or (keyless.name if keyless else None),
                               engine=self.engine, timing=self.window.timing(),
                               arm=self.try_arm, no_engine=self.keyless.refusal("Arming"))

    def _claim(self, targets: list[Target]) -> str | None:
        """Claim ``targets`` for this window (one owner per countdown on this computer);
        the refusal to show, or None. The demo's exchange is this process's own: no claim."""
        from gui.core.owners import OwnedElsewhere, Owners

        if self.options.demo:
            return None
        scope = self.profile_name or f"exchange {self._cache_key}"
        if self._owners is None or self._owners.profile != scope:
            if self._owners is not None:
                self._owners.release_all()
            self._owners = Owners(scope, "the window")
        try:
            self._owners.claim(targets)
        except OwnedElsewhere as exc:
            return str(exc)
        except OSError as exc:
            return (f"This computer's claims on targets cannot be recorded ({exc}); without "
                    "them another heartbeat could fight this one.")
        return None

    def _release_unbeaten(self) -> None:
        """Give up the claims on targets this window no longer beats or sweeps."""
        owners, engine = self._owners, self.engine
        if owners is None or not owners.held:
            return
        beaten = set(engine.armed_targets) | set(engine.sweeping) if engine else set()
        owners.release([t for t in owners.held if t not in beaten])

    def stop(self) -> None:
        """STOP: disarm every armed target; the button says Stopping… until each is confirmed."""
        engine = self.engine
        if engine is None or self._stopping or not engine.armed_targets:
            return
        self._stopping = True
        self._refresh_mode()
        self.spawn(self._stop(engine))

    async def _stop(self, engine: Engine) -> None:
        try:
            results = await engine.disarm()
        finally:
            self._stopping = False
            self._refresh_mode()
        self._report_stop(engine, results)

    def _report_stop(self, engine: Engine, results: dict[Target, bool]) -> None:
        reasons = {t: s.reason for t in results if (s := engine.status(t)) is not None}
        for level, title, text, key in stop_report(results, engine.states(), reasons):
            self.window.post(level, title, text, key=key)

    def _remove_card(self, target: Target) -> None:
        self.window.remove_card(target)
        self.compact.forget(target)
        if self.tray is not None:
            self.tray.forget(target)

    def resume_left(self, target: Target) -> None:
        """Resume: beat again a countdown an earlier run left, as it was left."""
        if self.engine is None:
            return self._refuse_left("Resuming", "Cannot resume")
        args = self.left_armed.resume_args(target)
        if args is not None:
            self.arm([target], *args)

    def disarm_left(self, target: Target) -> None:
        """Disarm now: stop a countdown an earlier run left armed."""
        engine = self.engine
        if engine is None:
            return self._refuse_left("Disarming", "Cannot disarm")
        args = self.left_armed.disarm_args(target)
        if args is None:
            return
        self.spawn(self._disarm_left(engine, target, *args))

    def _refuse_left(self, doing: str, title: str) -> None:
        self.window.post("warning", title, self.keyless.refusal(doing) or "No API key is loaded.",
                         key=title)

    async def _disarm_left(self, engine: Engine, target: Target, timeout: int,
                           trigger_time_ms: int | None) -> None:
        ok = await engine.disarm_left(target, timeout, trigger_time_ms)
        self._refresh_mode()
        self._report_stop(engine, {target: ok})

    def dismiss(self, target: Target) -> None:
        if target in self.left_armed:
            return  # it still counts down on the exchange
        if self.engine is not None:
            status = self.engine.status(target)
            if status is not None and (status.state.live or status.state is State.STOPPING):
                return
            self.engine.forget(target)
        self._remove_card(target)
        self._refresh_mode()

    def _refresh_mode(self) -> None:
        """Set the big button (and the tray) from the engine's states, now.

        For what a person just did (ARM, STOP, dismiss): the button must say so at once.
        Engine events go through :meth:`_refresh_mode_soon`.
        """
        self._mode_timer.stop()  # this refresh does what a pending one would
        engine = self.engine
        # The states alone, not a status snapshot per target: with hundreds armed this runs
        # often.
        states = set(engine.states().values()) if engine else set()
        stopping = self._stopping or State.STOPPING in states
        armed = any(state.live for state in states)
        mode = "stopping" if stopping else "stop" if armed else "arm"
        # In "stop" and "stopping" the button depends on the mode alone, so setting the same
        # mode again would change nothing (and still walk the picker to lock it); in "arm" it
        # also depends on the selection, the timing and the key, so it is set again.
        if mode != self.window.mode or mode == "arm":
            self.window.set_mode(mode)
        self.compact.set_mode(mode)
        if self.tray is not None:
            self.tray.set_mode(mode)
        self._release_unbeaten()

    def _refresh_mode_soon(self) -> None:
        """Refresh the mode once the loop turns: one refresh for a whole burst of events."""
        if not self._mode_timer.isActive():
            self._mode_timer.start()

    def _refresh_mode_due(self) -> None:
        if self._phase < Phase.FINISHED:
            self._refresh_mode()

    # ------------------------------------------------------------------ engine events

    def _on_status(self, status: TargetStatus) -> None:
        shown = status.target in self.window.cards or status.target in self.window.waiting
        if shown or status.state is not State.IDLE:
            new = not shown
            self.window.update_status(status)
            if new:
                self.refresh_orders()

    def _redraw_statuses(self) -> None:
        """Every card and the tray from what the engine knows now (after a sleep, say)."""
        for status in self.engine.statuses() if self.engine is not None else []:
            self.adapter.statusChanged.emit(status)

    def _on_event(self, event: EngineEvent) -> None:
        self.notifier.on_event(event)
        if event.kind in (EventKind.ARMING, EventKind.DISARMED, EventKind.DISARM_FAILED,
                          EventKind.FIRED, EventKind.ERROR, EventKind.STOPPING,
                          EventKind.DEGRADED, EventKind.OVERDUE, EventKind.BEAT_OK):
            self._refresh_mode_soon()
        if event.kind is EventKind.FIRED:
            self.refresh_orders()

    # ------------------------------------------------------------------ orders

    def refresh_orders(self) -> None:
        """Fetch the open orders of every card's scope in the background (one fetch at a time)."""
        targets = [*self.window.cards, *self.window.waiting.targets]
        if (self.client is None or not targets
                or not Phase.PAINTED <= self._phase < Phase.SHUTTING_DOWN):
            return
        if self._orders_busy:
            self._orders_again = True
            return
        self._orders_busy = True
        self.spawn(self._fetch_orders(self.client, targets))

    async def _fetch_orders(self, client: GateClient, targets: list[Target]) -> None:
        from gui.core.errors import AuthenticationError, GateError

        try:
            result = await in_thread(fetch_open_orders, client, targets)
        finally:
            self._orders_busy = False
        if client is not self.client:
            return
        for target, orders in result.items():
            if isinstance(orders, GateError):
                self.window.set_orders(target, None, str(orders))
                if isinstance(orders, AuthenticationError):
                    self.notifier.key_rejected(str(orders))
            else:
                self.window.set_orders(target, orders)
        if self._orders_again:
            self._orders_again = False
            self.refresh_orders()

    # ------------------------------------------------------------------ cancel now

    def cancel_now_scopes(self) -> list[Target]:
        engine = self.engine
        armed = engine.armed_targets if engine else []
        return list(armed) if armed else list(self.window.picker.selected_targets())

    def cancel_now(self) -> QMessageBox | None:
        """Ask, naming the scopes; on yes, cancel their open orders now (not disarming)."""
        if self.engine is None:
            self.window.post("warning", "Cannot cancel",
                             self.keyless.refusal("Cancelling orders") or "No API key is loaded.")
            return None
        scopes = self.cancel_now_scopes()
        if not scopes:
            self.window.post("warning", "Nothing to cancel",
                             "Choose the markets whose orders should be cancelled.")
            return None
        if self._cancel_box is not None:
            self._cancel_box.show()
            self._cancel_box.raise_()
            return self._cancel_box
        self.show_window()
        box = confirm_cancel_now(self.window, scopes, armed=self.window.mode != "arm")

        def answered() -> None:
            clicked = box.clickedButton()
            self._cancel_box = None
            box.deleteLater()
            if clicked is not None and clicked.objectName() == "confirmCancelNow":
                self.spawn(self._cancel_now(scopes))

        box.finished.connect(answered)
        self._cancel_box = box
        box.open()
        return box

    async def _cancel_now(self, scopes: list[Target]) -> None:
        engine = self.engine
        if engine is None:
            return
        self.window.post("info", "Cancelling orders now…",
                         ", ".join(t.describe() for t in scopes), key="cancel")
        results = await engine.cancel_now(scopes)
        level, title, text = cancel_now_report(results)
        self.window.post(level, title, text, key="cancel")
        self.refresh_orders()

    # ------------------------------------------------------------------ window and tray

    def show_window(self) -> None:
        self.window.show_and_raise()

    def toggle_window(self) -> None:
        if self.window.isVisible() and not self.window.isMinimized():
            self.window.hide()
        else:
            self.show_window()

    def _window_closing(self) -> bool:
        """The window's close button. True lets the window close."""
        if self._phase >= Phase.QUITTING:
            return True
        armed = bool(self.engine and self.engine.armed_targets)
        if armed and self.tray is not None:
            self.window.hide()
            if NOTICE_TRAY not in self.settings.notices_shown:
                self.settings.notices_shown.append(NOTICE_TRAY)
                self.tray.notify("Still running in the tray",
                                 "gate-killswitch keeps the countdowns alive. Use Quit in the "
                                 "tray menu to stop it.", "info")
                self.save_settings()
            return False
        self.request_quit()
        return False

    # ------------------------------------------------------------------ quitting

    def request_quit(self) -> QuitDialog | None:
        """Quit; while armed, ask first (disarm and quit, quit and let it fire, cancel)."""
        if self._phase >= Phase.QUITTING:
            return None
        engine = self.engine
        armed = list(engine.armed_targets) if engine else []
        if not armed:
            self.spawn(self.quit_now())
            return None
        if self._quit_dialog is not None:
            self._quit_dialog.show()
            self._quit_dialog.raise_()
            return self._quit_dialog
        self.show_window()
        dialog = QuitDialog(armed, self.window)
        dialog.disarmAndQuit.connect(lambda: self._disarm_and_quit_chosen(dialog))
        dialog.quitAndFire.connect(lambda: self.spawn(self.quit_now()))
        dialog.finished.connect(lambda _result: self._quit_dialog_closed(dialog))
        self._quit_dialog = dialog
        dialog.open()
        return dialog

    def _quit_dialog_closed(self, dialog: QuitDialog) -> None:
        if self._quit_dialog is dialog:
            self._quit_dialog = None
        dialog.deleteLater()

    def _disarm_and_quit_chosen(self, dialog: QuitDialog) -> None:
        # Said at once, before the first request leaves: the click visibly did something.
        dialog.set_busy("Stopping… waiting for the exchange to confirm each countdown is off.")
        self._stopping = True
        self._refresh_mode()
        self.spawn(self._disarm_and_quit(dialog))

    async def _disarm_and_quit(self, dialog: QuitDialog) -> None:
        engine = self.engine
        if engine is None:
            self._stopping = False
            await self.quit_now()
            return
        try:
            results = await engine.disarm()
        finally:
            self._stopping = False
            self._refresh_mode()
        failed = [t for t, ok in results.items() if not ok]
        if failed:
            self._report_stop(engine, results)
            reasons = []
            for target in failed:
                status = engine.status(target)
                reasons.append(f"{target}: {status.reason if status else 'not confirmed'}")
            dialog.set_failed("The stop could not be confirmed for " + "; ".join(reasons))
            return
        if engine.sweeping:
            dialog.set_busy("Disarmed. Making sure a delayed beat cannot arm it again "
                            "(at most a minute)…")
            await engine.wait_sweeps(timeout=65)
        dialog.finish()
        await self.quit_now()

    async def quit_now(self, code: int = 0) -> None:
        """Quit without asking: remember the settings, leave the countdowns as they are."""
        if self._phase >= Phase.QUITTING:
            return
        self._advance(Phase.QUITTING)
        if not self.options.self_test:
            self.save_settings(geometry=True)
        self.window.hide()
        if self._quit_dialog is not None:
            self._quit_dialog.finish()
        await self.shutdown()
        self.journal.write("exit", front_end="window", code=code,
                           message="the window quit")
        self._finish(code)

    async def shutdown(self) -> None:
        """Stop the engines' tasks (countdowns on the exchange are left alone) and the timers."""
        self._advance(Phase.SHUTTING_DOWN)
        self._orders_timer.stop()
        self._mode_timer.stop()
        # The picker's list loads, the keys dialog's jobs and our own background jobs end
        # here, each awaited: a task still pending when the loop closes is destroyed pending.
        await self.window.picker.stop_loading()
        if self._keys_dialog is not None:
            await self._keys_dialog.stop_background()
        current = asyncio.current_task()
        for _ in range(3):  # a job may start another as it ends (an orders refresh): end those
            pending = [t for t in self._tasks if t is not current and not t.done()]
            if not pending:
                break
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        engines = [e for e in (self.engine, *self._retired_engines) if e is not None]
        for engine in engines:
            try:
                await engine.shutdown(disarm=False)
            except Exception:
                log.exception("Shutting the engine down failed")
        # What the engines left armed must be on file before the process ends.
        for recorder in [engine.recorder for engine in engines] + [self.keyless.recorder]:
            if isinstance(recorder, ArmedRecorder) and not await in_thread(recorder.flush):
                log.error("Could not finish writing what was left armed")
        if self._owners is not None:
            self._owners.release_all()
        self._requests.shutdown(wait=False, cancel_futures=True)
        self.adapter.close()
        self.notifier.close()
        self.compact.close()
        if self.sleep is not None:
            self.sleep.close()
        if self.tray is not None:
            self.tray.close()
            self.tray = None
            self.notifier.set_tray(None)

    def _finish(self, code: int) -> None:
        if self._phase is Phase.FINISHED:
            return
        self._advance(Phase.FINISHED)
        # The result first: closing the last window may make Qt quit its loop.
        if self._done is not None and not self._done.done():
            self._done.set_result(code)
        self.window.set_close_guard(None)
        self.window.close()
        if self.client is not None:
            self.client.close()
        self.keyless.clear()
        self.finished.emit(code)
