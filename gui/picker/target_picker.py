"""TargetPicker: choose what to protect (spot pairs, all spot, option underlyings and contracts,
perpetual futures contracts and whole settle currencies).

The picker holds one ordered list of chosen targets; every check box, list and the "Selected"
summary are views of it. Market lists load in the background through ``in_thread`` and
:class:`~gui.core.market_cache.MarketCache`; their errors are shown in place with a Retry button.

A target that a broader chosen scope already covers (a pair under ``spot:all``, a contract under
its underlying, anything of options under ``options:all``) stays remembered and visible, marked
as covered, but is left out of :meth:`TargetPicker.selected_targets`: arming both would only send
redundant countdowns, and unchecking the broad scope brings the narrow choices back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui.core.client import CurrencyPair, GateClient, OptionContract, Underlying
from gui.core.errors import GateError
from gui.core.futures import FuturesContract
from gui.core.market_cache import (
    CONTRACTS,
    FUTURES_CONTRACTS,
    SPOT_PAIRS,
    UNDERLYINGS,
    MarketCache,
    MarketKind,
)
from gui.core.targets import (
    SETTLES,
    Product,
    ScopeKind,
    Target,
    TargetError,
    covering_target,
    parse_target,
    spot,
    underlying_of,
)
from gui.picker.futures_tab import FuturesTab
from gui.picker.option_chain import OptionsTab
from gui.picker.parts import (
    NAME_ROLE,
    LoadStatus,
    set_check,
)
from gui.tasks import BackgroundTasks, in_thread
from gui.words import describe_target, hour_minute, list_error_text

__all__ = ["LoadStatus", "TargetPicker"]

log = logging.getLogger(__name__)

TARGET_ROLE = Qt.ItemDataRole.UserRole + 3  # the target text of a "Selected" row


# -- words for people ----------------------------------------------------------------------------


# -- an in-place status line: loading, a note, or an error with Retry ----------------------------


# -- the picker ----------------------------------------------------------------------------------

class TargetPicker(QWidget):
    """Choose targets: spot pairs, all spot markets, option underlyings and contracts, all options.

    ``cache`` defaults to a :class:`MarketCache` in the user's cache directory.
    """

    selectionChanged = Signal()

    def __init__(self, parent: QWidget | None = None, *, cache: MarketCache | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Targets to protect")
        self._cache = cache if cache is not None else MarketCache()
        self._client: GateClient | None = None
        self._cache_key = ""
        self._chosen: list[Target] = []
        self._locked = False
        # Bumped whenever the client changes: results of an older client's requests are dropped.
        self._generation = 0
        self._load_task: asyncio.Future[None] | None = None
        self._load_task_generation = -1
        self._load_scheduled = False
        self._background = BackgroundTasks("Loading the market lists")
        # While True, check-state changes come from this code, not from a person.
        self._syncing = False
        self._pair_names: set[str] = set()
        self._underlying_names: set[str] = set()
        self._contract_names: dict[str, set[str]] = {}
        self._contracts_request = 0
        self._build()
        self._set_no_client_status()
        self._sync_views()

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("Market type")
        self.tabs.addTab(self._build_spot_tab(), "&Spot")
        self.options_tab = OptionsTab(self)
        self.options_tab.chosenChanged.connect(self._set_chosen)
        self.options_tab.underlyingChanged.connect(self._underlying_changed)
        self.options_tab.retryUnderlyings.connect(self._retry_underlyings)
        self.options_tab.retryContracts.connect(self._retry_contracts)
        self.tabs.addTab(self.options_tab, "&Options")
        self.futures_tab = FuturesTab(self)
        self.futures_tab.chosenChanged.connect(self._set_chosen)
        self.futures_tab.retryRequested.connect(
            lambda settle: self._spawn(self._load_futures(settle, self._generation)))
        self.tabs.addTab(self.futures_tab, "F&utures")

        selected_box = QGroupBox("Selected", self)
        self.selected_box = selected_box
        self.selected_list = QListWidget(selected_box)
        self.selected_list.setAccessibleName("Selected targets")
        self.selected_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.selected_list.installEventFilter(self)
        self.selected_list.itemSelectionChanged.connect(self._update_enabled)
        self.remove_button = QPushButton("&Remove", selected_box)
        self.remove_button.setAccessibleName("Remove selected targets")
        self.remove_button.setToolTip("Remove the highlighted targets (Delete key)")
        self.remove_button.clicked.connect(self._remove_highlighted)
        self.clear_button = QPushButton("Clear all", selected_box)
        self.clear_button.setAccessibleName("Remove all targets")
        self.clear_button.clicked.connect(lambda: self._replace_chosen([]))

        add_label = QLabel("Add by &name:", selected_box)
        self.add_edit = QLineEdit(selected_box)
        self.add_edit.setAccessibleName("Add target by name")
        self.add_edit.setPlaceholderText(
            "spot:BTC_USDT, options:BTC_USDT-20261127-95000-C, futures:usdt:BTC_USDT, …")
        self.add_edit.setClearButtonEnabled(True)
        add_label.setBuddy(self.add_edit)
        self.add_edit.returnPressed.connect(self._add_by_name)
        self.add_edit.textEdited.connect(lambda _text: self._show_add_message(""))
        self.add_button = QPushButton("&Add", selected_box)
        self.add_button.setAccessibleName("Add target")
        self.add_button.clicked.connect(self._add_by_name)
        self.add_message = QLabel(selected_box)
        self.add_message.setAccessibleName("Add by name message")
        self.add_message.setWordWrap(True)
        self.add_message.setProperty("tone", "error")  # red in style.qss
        self.add_message.hide()
        self.lock_note = QLabel("Targets are locked while armed: press STOP to change them.",
                                selected_box)
        self.lock_note.setAccessibleName("Targets locked")
        self.lock_note.setWordWrap(True)
        self.lock_note.hide()

        buttons = QVBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        list_row = QHBoxLayout()
        list_row.addWidget(self.selected_list, 1)
        list_row.addLayout(buttons)
        add_row = QHBoxLayout()
        add_row.addWidget(add_label)
        add_row.addWidget(self.add_edit, 1)
        add_row.addWidget(self.add_button)
        box_layout = QVBoxLayout(selected_box)
        box_layout.addWidget(self.lock_note)
        box_layout.addLayout(list_row, 1)
        box_layout.addLayout(add_row)
        box_layout.addWidget(self.add_message)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.tabs)
        splitter.addWidget(selected_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def _build_spot_tab(self) -> QWidget:
        tab = QWidget(self)
        self.all_spot_check = QCheckBox("All spot &markets (spot:all)", tab)
        self.all_spot_check.setAccessibleName("All spot markets")
        self.all_spot_check.setToolTip(
            "One countdown for every spot order, on every pair, including pairs not listed here")
        self.all_spot_check.toggled.connect(
            lambda checked: self._set_chosen(spot(), checked))

        search_label = QLabel("Searc&h:", tab)
        self.search_edit = QLineEdit(tab)
        self.search_edit.setAccessibleName("Search spot pairs")
        self.search_edit.setPlaceholderText("BTC, btc_usdt, usdt…")
        self.search_edit.setClearButtonEnabled(True)
        search_label.setBuddy(self.search_edit)
        self.search_edit.textChanged.connect(self._apply_pair_filter)

        self.spot_status = LoadStatus("spot pairs", tab)
        self.spot_status.retryRequested.connect(self._retry_spot_pairs)
        self.pair_list = QListWidget(tab)
        self.pair_list.setAccessibleName("Spot pairs")
        self.pair_list.setUniformItemSizes(True)
        self.pair_list.itemChanged.connect(self._pair_item_changed)
        self.pair_count = QLabel(tab)
        self.pair_count.setAccessibleName("Spot pairs shown")

        search_row = QHBoxLayout()
        search_row.addWidget(search_label)
        search_row.addWidget(self.search_edit, 1)
        layout = QVBoxLayout(tab)
        layout.addWidget(self.all_spot_check)
        layout.addLayout(search_row)
        layout.addWidget(self.spot_status)
        layout.addWidget(self.pair_list, 1)
        layout.addWidget(self.pair_count)
        return tab

    # ------------------------------------------------------------------ public API

    def set_client(self, client: GateClient | None, cache_key: str) -> None:
        """Use ``client`` (of the profile now chosen) for the market lists, cached under
        ``cache_key`` (its base URL). Loading starts once the event loop runs.
        """
        self._generation += 1
        self._client = client
        self._cache_key = cache_key
        self._cancel_background()
        self._clear_market_views()
        if client is None:
            self._set_no_client_status()
            return
        self.spot_status.show_loading()
        self.options_tab.underlying_status.show_loading()
        for status in self.futures_tab.statuses.values():
            status.show_loading()
        self._schedule_load()

    async def load(self) -> None:
        """Load (or reload) the spot pairs and underlyings, and the shown underlying's contracts.

        Cached lists are shown at once; only missing or stale ones are fetched. A load already
        running for the same client is joined, not repeated.
        """
        task = self._load_task
        if task is None or task.done() or self._load_task_generation != self._generation:
            task = asyncio.ensure_future(self._load_all(self._generation))
            self._load_task = task
            self._load_task_generation = self._generation
        # Shielded: a caller that stops waiting must not cancel the load the widget relies on.
        await asyncio.shield(task)

    def selected_targets(self) -> list[Target]:
        """The chosen targets, in the order chosen, without duplicates or covered ones."""
        chosen = set(self._chosen)  # a look-up per target, not a scan: 200 chosen are many
        return [t for t in self._chosen if covering_target(t, chosen) is None]

    def set_selected(self, targets: list[Target]) -> None:
        """Restore chosen targets (for example remembered ones), even before the lists load."""
        self._replace_chosen(list(targets))

    def set_locked(self, locked: bool) -> None:
        """Read-only while armed: the targets being protected must not change under the engine."""
        self._locked = locked
        self.lock_note.setVisible(locked)
        if locked:
            self._show_add_message("")
        self._update_enabled()

    def is_locked(self) -> bool:
        return self._locked

    # ------------------------------------------------------------------ chosen targets

    def _set_chosen(self, target: Target, chosen: bool) -> None:
        if self._syncing:
            return
        if self._locked:
            # A check box that moved while locked is put back.
            self._sync_views()
            return
        if chosen and target not in self._chosen:
            self._replace_chosen([*self._chosen, target])
        elif not chosen and target in self._chosen:
            self._replace_chosen([t for t in self._chosen if t != target])

    def _replace_chosen(self, targets: list[Target]) -> None:
        unique: list[Target] = []
        for target in targets:
            if target not in unique:
                unique.append(target)
        changed = unique != self._chosen
        self._chosen = unique
        self._sync_views()
        if changed:
            self.selectionChanged.emit()

    def _sync_views(self) -> None:
        """Make every check box, list and the summary show :attr:`_chosen`."""
        self._syncing = True
        try:
            chosen = set(self._chosen)
            self.all_spot_check.setChecked(spot() in chosen)
            for row in range(self.pair_list.count()):
                item = self.pair_list.item(row)
                want = spot(item.data(NAME_ROLE)) in chosen
                set_check(item, want)
            self.options_tab.sync(self._chosen, not self._locked)
            self.futures_tab.sync(chosen, not self._locked)
        finally:
            self._syncing = False
        self._refresh_summary()
        self._update_enabled()

    def _refresh_summary(self) -> None:
        highlighted = {item.data(TARGET_ROLE) for item in self.selected_list.selectedItems()}
        self.selected_list.clear()
        muted = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        for target in self._chosen:
            covering = covering_target(target, self._chosen)
            text = f"{target}  —  {describe_target(target)}"
            item = QListWidgetItem(text)
            item.setData(TARGET_ROLE, str(target))
            if covering is not None:
                item.setText(f"{text}  (covered by {covering})")
                item.setForeground(muted)
                item.setToolTip(f"Not armed on its own while {covering} is selected")
            self.selected_list.addItem(item)
            if str(target) in highlighted:
                item.setSelected(True)
        count = len(self.selected_targets())
        self.selected_box.setTitle(f"Selected ({count})" if count else "Selected (none yet)")

    def _update_enabled(self) -> None:
        editable = not self._locked
        chosen = set(self._chosen)
        spot_all = spot() in chosen
        self.all_spot_check.setEnabled(editable)
        # Covered by "all": the per-pair list would change nothing that is armed.
        self.pair_list.setEnabled(editable and not spot_all)
        self.options_tab.sync(self._chosen, editable)
        self.futures_tab.sync(chosen, editable)
        self.add_edit.setEnabled(editable)
        self.add_button.setEnabled(editable)
        self.remove_button.setEnabled(editable and bool(self.selected_list.selectedItems()))
        self.clear_button.setEnabled(editable and bool(self._chosen))

    def _remove_highlighted(self) -> None:
        if self._locked:
            return
        gone = {item.data(TARGET_ROLE) for item in self.selected_list.selectedItems()}
        if gone:
            self._replace_chosen([t for t in self._chosen if str(t) not in gone])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (watched is self.selected_list and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)):
            self._remove_highlighted()
            return True
        return super().eventFilter(watched, event)

    def _add_by_name(self) -> None:
        if self._locked:
            return
        text = self.add_edit.text().strip()
        if not text:
            self._show_add_message("Type a target such as spot:BTC_USDT, then press Add.")
            return
        try:
            target = parse_target(text)
        except TargetError as exc:
            self._show_add_message(str(exc))
            return
        unknown = self._unknown_market(target)
        if unknown:
            self._show_add_message(unknown)
            return
        if target in self._chosen:
            self._show_add_message(f"{target} is already selected.")
            return
        self._show_add_message("")
        self.add_edit.clear()
        self._replace_chosen([*self._chosen, target])

    def _unknown_market(self, target: Target) -> str:
        """Why the loaded lists say ``target`` does not exist, or "" (also when not loaded)."""
        if target.is_all:
            return ""
        if target.product is Product.SPOT:
            if self._pair_names and target.name not in self._pair_names:
                return f"{target.name} is not a spot pair on this exchange."
            return ""
        if target.settle is not None:
            listed = self.futures_tab.names(target.settle)
            if listed and target.name not in listed:
                return (f"{target.name} is not a listed {target.settle.upper()}-settled "
                        "perpetual contract.")
            return ""
        underlying = underlying_of(target)
        if self._underlying_names and underlying not in self._underlying_names:
            return f"{underlying} is not an option underlying on this exchange."
        known = self._contract_names.get(underlying or "")
        if target.kind is ScopeKind.CONTRACT and known and target.name not in known:
            return f"{target.name} is not a listed {underlying} option contract."
        return ""

    def _show_add_message(self, message: str) -> None:
        self.add_message.setText(message)
        self.add_message.setVisible(bool(message))

    # ------------------------------------------------------------------ list events

    def _pair_item_changed(self, item: QListWidgetItem) -> None:
        if self._syncing:
            return
        self._set_chosen(spot(item.data(NAME_ROLE)),
                         item.checkState() == Qt.CheckState.Checked)

    def _apply_pair_filter(self) -> None:
        typed = self.search_edit.text().strip()
        needle = typed.upper()
        # "btc usdt", "btc/usdt" and "btcusdt" all mean BTC_USDT.
        squeezed = "".join(ch for ch in needle if ch.isalnum())
        shown = 0
        for row in range(self.pair_list.count()):
            item = self.pair_list.item(row)
            name = str(item.data(NAME_ROLE))
            match = (not needle or needle in name
                     or (bool(squeezed) and squeezed in name.replace("_", "")))
            item.setHidden(not match)
            shown += match
        total = self.pair_list.count()
        if not total:
            self.pair_count.setText("")
        elif not needle:
            self.pair_count.setText(f"{total} pairs")
        elif shown:
            self.pair_count.setText(f"{shown} of {total} pairs match “{typed}”")
        else:
            self.pair_count.setText(f"No pair matches “{typed}”")

    def _underlying_changed(self, underlying: str | None) -> None:
        """Another underlying's chain is shown: load its contracts."""
        self._contracts_request += 1
        if underlying is not None and self._client is not None:
            self._spawn(self._load_contracts(underlying, self._generation))
        self._sync_views()

    @property
    def _shown_underlying(self) -> str | None:
        return self.options_tab.underlying

    # ------------------------------------------------------------------ showing lists

    def _clear_market_views(self) -> None:
        self._pair_names = set()
        self._underlying_names = set()
        self._contract_names = {}
        self._show_pairs([])
        self.options_tab.clear()
        self.futures_tab.clear()
        self._sync_views()

    def _set_no_client_status(self) -> None:
        note = "Choose a profile to load the market lists."
        self.spot_status.show_note(note)
        self.options_tab.underlying_status.show_note(note)
        for status in self.futures_tab.statuses.values():
            status.show_note(note)

    def _show_pairs(self, pairs: list[CurrencyPair]) -> None:
        self._pair_names = {p.id for p in pairs}
        muted = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        current = self.pair_list.currentItem()
        current_name = current.data(NAME_ROLE) if current is not None else None
        self._syncing = True
        try:
            self.pair_list.clear()
            for pair in sorted(pairs, key=lambda p: p.id):
                item = QListWidgetItem(pair.id)
                item.setData(NAME_ROLE, pair.id)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
                if not pair.tradable:
                    item.setText(f"{pair.id}  (untradable)")
                    item.setForeground(muted)
                    item.setToolTip("Gate lists this pair as untradable: no order can rest on it.")
                elif pair.trade_status == "sellable":
                    item.setText(f"{pair.id}  (sell only)")
                elif pair.trade_status == "buyable":
                    item.setText(f"{pair.id}  (buy only)")
                self.pair_list.addItem(item)
                if pair.id == current_name:
                    self.pair_list.setCurrentItem(item)
        finally:
            self._syncing = False
        self._apply_pair_filter()
        self._sync_views()

    def _show_underlyings(self, underlyings: list[Underlying]) -> None:
        self._underlying_names = {u.name for u in underlyings}
        self.options_tab.show_underlyings(underlyings)
        self._sync_views()

    # ------------------------------------------------------------------ loading

    def _schedule_load(self) -> None:
        if self._load_scheduled:
            return
        self._load_scheduled = True
        # A zero timer fires once the event loop runs: tasks are never made in __init__ or
        # before qasync's loop starts.
        QTimer.singleShot(0, self, self._start_scheduled_load)

    def _start_scheduled_load(self) -> None:
        self._load_scheduled = False
        if self._client is None:
            return
        self._spawn(self.load())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._background.spawn(coro)

    def _cancel_background(self) -> list[asyncio.Future[Any]]:
        cancelled = self._background.cancel_all()
        if self._load_task is not None:
            self._load_task.cancel()
            cancelled.append(self._load_task)
        self._load_task = None
        return cancelled

    async def stop_loading(self) -> None:
        """Let go of the client and wait until every load has ended: for quitting, so that no
        load is still pending when the event loop closes."""
        cancelled = self._cancel_background()
        self.set_client(None, "")
        if cancelled:
            await asyncio.gather(*cancelled, return_exceptions=True)

    async def _load_all(self, generation: int) -> None:
        if self._client is None:
            return
        underlying = self._shown_underlying
        jobs: list[Awaitable[None]] = [self._load_spot_pairs(generation),
                                       self._load_underlyings(generation)]
        if underlying is not None:
            jobs.append(self._load_contracts(underlying, generation))
        jobs.extend(self._load_futures(settle, generation) for settle in SETTLES)
        await asyncio.gather(*jobs)

    async def _load_futures(self, settle: str, generation: int) -> None:
        client = self._client
        if client is None:
            return

        def show(contracts: list[FuturesContract]) -> None:
            self.futures_tab.show_contracts(settle, contracts)
            self._sync_views()

        await self._load_list(generation, (FUTURES_CONTRACTS, settle),
                              lambda: client.futures_contracts(settle), show,
                              self.futures_tab.statuses[settle],
                              f"{settle.upper()} futures contracts", lambda: True)

    async def _load_spot_pairs(self, generation: int) -> None:
        client = self._client
        if client is None:
            return
        await self._load_list(generation, (SPOT_PAIRS, ""), client.spot_pairs, self._show_pairs,
                              self.spot_status, "spot pairs", lambda: True)

    async def _load_underlyings(self, generation: int) -> None:
        client = self._client
        if client is None:
            return
        await self._load_list(generation, (UNDERLYINGS, ""), client.option_underlyings,
                              self._show_underlyings, self.options_tab.underlying_status,
                              "option underlyings", lambda: True)

    async def _load_contracts(self, underlying: str, generation: int) -> None:
        client = self._client
        if client is None:
            return
        request = self._contracts_request

        def still_wanted() -> bool:
            return request == self._contracts_request and self._shown_underlying == underlying

        def show(contracts: list[OptionContract]) -> None:
            self._contract_names[underlying] = {c.name for c in contracts}
            self.options_tab.show_contracts(contracts)

        await self._load_list(generation, (CONTRACTS, underlying),
                              lambda: client.option_contracts(underlying), show,
                              self.options_tab.contracts_status,
                              f"{underlying} option contracts",
                              still_wanted)

    async def _load_list(self, generation: int, kind: MarketKind,
                         fetch: Callable[[], list[Any]], show: Callable[[list[Any]], None],
                         status: LoadStatus, what: str,
                         still_wanted: Callable[[], bool]) -> None:
        """Show the cached list at once; fetch it if missing or stale; errors go in ``status``."""
        key = self._cache_key

        def current() -> bool:
            return generation == self._generation and still_wanted()

        cached = await in_thread(self._cache.get, key, kind)
        if not current():
            return
        if cached is not None:
            show(cached.items)
            if cached.fresh:
                status.clear()
                return
            status.show_note(f"Showing {what} from {hour_minute(cached.fetched_at)}; "
                             "updating…")
        else:
            status.show_loading(what)
        try:
            items = await in_thread(fetch)
        except GateError as exc:
            log.warning("Could not load %s: %s", what, exc)
            message = list_error_text(exc)
        except Exception as exc:  # shown in place like the others, with the traceback logged
            log.exception("Unexpected failure loading %s", what)
            message = f"Unexpected error ({type(exc).__name__}); the log has the details."
        else:
            await in_thread(self._cache.put, key, kind, items)
            if current():
                show(items)
                status.clear()
            return
        if not current():
            return
        if cached is not None:
            status.show_error(f"Could not update {what} (showing the list from "
                              f"{hour_minute(cached.fetched_at)}): {message}")
        else:
            status.show_error(f"Could not load {what}: {message}")

    def _retry_spot_pairs(self) -> None:
        self._spawn(self._load_spot_pairs(self._generation))

    def _retry_underlyings(self) -> None:
        self._spawn(self._load_underlyings(self._generation))

    def _retry_contracts(self) -> None:
        if self._shown_underlying is not None:
            self._spawn(self._load_contracts(self._shown_underlying, self._generation))


# -- helpers -------------------------------------------------------------------------------------


