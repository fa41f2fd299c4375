"""The picker's Futures tab: perpetual contracts of one settle currency at a time.

A settle switch (USDT / BTC) chooses which futures account the list shows: each settle is its own
account at Gate with its own countdown. "All USDT futures" protects every contract of that
settle. Contracts leaving the market are listed, marked and muted: orders may still rest on them.
The tab only shows and asks; the picker owns the chosen targets (see ``TargetPicker``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gui.core.futures import FuturesContract
from gui.core.targets import SETTLES, Target, futures, is_futures_contract
from gui.picker.parts import NAME_ROLE, LoadStatus, set_check
from gui.words import FUTURES_ORDERS_ONLY

_DELISTING_WORDS = {"delisting": "delisting", "delisted": "delisted"}


class FuturesTab(QWidget):
    """Choose perpetual futures targets; ``chosenChanged(target, checked)`` asks the picker."""

    chosenChanged = Signal(object, bool)
    retryRequested = Signal(str)  # the settle whose list to load again

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._syncing = False
        self._contracts: dict[str, list[FuturesContract]] = {s: [] for s in SETTLES}
        self._chosen: set[Target] = set()
        self._editable = True

        settle_label = QLabel("Settled in:", self)
        self.settle_buttons = QButtonGroup(self)
        self.settle_radios: dict[str, QRadioButton] = {}
        settle_row = QHBoxLayout()
        settle_row.addWidget(settle_label)
        for settle, text in (("usdt", "US&DT"), ("btc", "BT&C")):
            radio = QRadioButton(text, self)
            radio.setAccessibleName(f"{settle.upper()}-settled perpetual futures")
            self.settle_buttons.addButton(radio)
            self.settle_radios[settle] = radio
            settle_row.addWidget(radio)
            radio.toggled.connect(lambda on, s=settle: on and self._show_settle(s))
        settle_row.addStretch(1)

        self.all_check = QCheckBox(self)
        self.all_check.toggled.connect(
            lambda checked: self._ask(futures(self.settle), checked))
        self.note = QLabel(f"Futures: the countdown {FUTURES_ORDERS_ONLY}.", self)
        self.note.setAccessibleName("What a futures countdown does")
        self.note.setWordWrap(True)

        search_label = QLabel("Searc&h:", self)
        self.search_edit = QLineEdit(self)
        self.search_edit.setAccessibleName("Search futures contracts")
        self.search_edit.setPlaceholderText("BTC, eth_usdt…")
        self.search_edit.setClearButtonEnabled(True)
        search_label.setBuddy(self.search_edit)
        self.search_edit.textChanged.connect(self._apply_filter)
        search_row = QHBoxLayout()
        search_row.addWidget(search_label)
        search_row.addWidget(self.search_edit, 1)

        # One load status per settle; the shown one follows the switch.
        self.statuses: dict[str, LoadStatus] = {}
        self.status_stack = QStackedWidget(self)
        for settle in SETTLES:
            status = LoadStatus(f"{settle.upper()} futures contracts", self.status_stack)
            status.retryRequested.connect(lambda s=settle: self.retryRequested.emit(s))
            self.statuses[settle] = status
            self.status_stack.addWidget(status)

        self.contract_list = QListWidget(self)
        self.contract_list.setUniformItemSizes(True)
        self.contract_list.itemChanged.connect(self._item_changed)
        self.count = QLabel(self)
        self.count.setAccessibleName("Futures contracts shown")

        layout = QVBoxLayout(self)
        layout.addLayout(settle_row)
        layout.addWidget(self.all_check)
        layout.addWidget(self.note)
        layout.addLayout(search_row)
        layout.addWidget(self.status_stack)
        layout.addWidget(self.contract_list, 1)
        layout.addWidget(self.count)
        self.settle = "usdt"
        self.settle_radios["usdt"].setChecked(True)
        self._show_settle("usdt")

    # ------------------------------------------------------------------ the picker's calls

    def names(self, settle: str) -> set[str]:
        """The listed contract names of ``settle`` (empty until its list loaded)."""
        return {c.name for c in self._contracts.get(settle, [])}

    def show_contracts(self, settle: str, contracts: list[FuturesContract]) -> None:
        self._contracts[settle] = sorted(contracts, key=lambda c: c.name)
        if settle == self.settle:
            self._fill()

    def clear(self) -> None:
        self._contracts = {s: [] for s in SETTLES}
        self._fill()

    def sync(self, chosen: set[Target], editable: bool) -> None:
        """Show ``chosen``; while ``editable`` is False nothing can be changed."""
        self._chosen = set(chosen)
        self._editable = editable
        whole = futures(self.settle) in self._chosen
        self._syncing = True
        try:
            self.all_check.setChecked(whole)
            for row in range(self.contract_list.count()):
                item = self.contract_list.item(row)
                name = str(item.data(NAME_ROLE))
                if is_futures_contract(self.settle, name):
                    set_check(item, futures(self.settle, name) in self._chosen)
        finally:
            self._syncing = False
        self.all_check.setEnabled(editable)
        # Covered by "all": the per-contract list would change nothing that is armed.
        self.contract_list.setEnabled(editable and not whole)

    # ------------------------------------------------------------------ inside

    def _ask(self, target: Target, checked: bool) -> None:
        if not self._syncing:
            self.chosenChanged.emit(target, checked)

    def _show_settle(self, settle: str) -> None:
        self.settle = settle
        name = settle.upper()
        self.all_check.setText(f"A&ll {name} futures (futures:{settle}:all)")
        self.all_check.setAccessibleName(f"All {name} futures")
        self.all_check.setToolTip(
            f"One countdown for every {name}-settled perpetual order, on every contract. "
            f"It {FUTURES_ORDERS_ONLY}.")
        self.contract_list.setAccessibleName(f"{name}-settled perpetual contracts")
        self.status_stack.setCurrentWidget(self.statuses[settle])
        self._fill()

    def _fill(self) -> None:
        muted = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        self._syncing = True
        try:
            self.contract_list.clear()
            for contract in self._contracts[self.settle]:
                item = QListWidgetItem(contract.name)
                item.setData(NAME_ROLE, contract.name)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
                if not is_futures_contract(self.settle, contract.name):
                    # Not a name a target can hold: only the whole settle covers it.
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                    item.setData(Qt.ItemDataRole.CheckStateRole, None)
                    item.setForeground(muted)
                    item.setToolTip(f"Protected only by All {self.settle.upper()} futures.")
                elif contract.delisting:
                    word = _DELISTING_WORDS.get(contract.status, "delisting")
                    item.setText(f"{contract.name}  ({word})")
                    item.setForeground(muted)
                    item.setToolTip(f"Gate lists this contract as {word}: no new orders, but "
                                    "orders already resting on it can still be protected.")
                self.contract_list.addItem(item)
        finally:
            self._syncing = False
        self._apply_filter()
        self.sync(self._chosen, self._editable)

    def _item_changed(self, item: QListWidgetItem) -> None:
        if not self._syncing:
            self._ask(futures(self.settle, item.data(NAME_ROLE)),
                      item.checkState() == Qt.CheckState.Checked)

    def _apply_filter(self) -> None:
        typed = self.search_edit.text().strip()
        needle = typed.upper()
        squeezed = "".join(ch for ch in needle if ch.isalnum())
        shown = 0
        for row in range(self.contract_list.count()):
            item = self.contract_list.item(row)
            name = str(item.data(NAME_ROLE))
            match = (not needle or needle in name
                     or (bool(squeezed) and squeezed in name.replace("_", "")))
            item.setHidden(not match)
            shown += match
        total = self.contract_list.count()
        if not total:
            self.count.setText("")
        elif not needle:
            self.count.setText(f"{total} contracts")
        elif shown:
            self.count.setText(f"{shown} of {total} contracts match “{typed}”")
        else:
            self.count.setText(f"No contract matches “{typed}”")
