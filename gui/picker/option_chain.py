"""The picker's Options tab: the underlyings, and the chosen underlying's option chain.

The chain reads as every options board does: one section per expiry (nearest first, the date
and the time left), one row per strike (ascending), the calls left of the strike and the puts
right of it, each side with its own check box. A side Gate does not list is an empty cell with
no box. The expiry and strike filters only hide rows: what is chosen stays chosen (and listed
under Selected), and the count line says how many chosen contracts the filters hide.

One model (:class:`OptionChainModel`) draws every cell, so a chain of hundreds of contracts
costs no widget per cell; the grouping itself is :func:`gui.core.option_chain.build_chain`.
The tab only shows and asks; the picker owns the chosen targets (see ``TargetPicker``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QGuiApplication, QMouseEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.core.client import OptionContract, Underlying
from gui.core.option_chain import (
    ChainExpiry,
    ChainRow,
    StrikeBoundError,
    build_chain,
    parse_strike_bound,
    row_matches,
)
from gui.core.targets import Product, Target, is_contract, options, underlying_of
from gui.picker.parts import NAME_ROLE, LoadStatus, SpaceTogglesRowCheck
from gui.words import (
    contract_words,
    describe_target,
    expiry_label,
    format_expiry,
    format_number,
)

CALL, STRIKE, PUT = 0, 1, 2
COLUMNS = ("Calls", "Strike", "Puts")
_Index = QModelIndex | QPersistentModelIndex


class OptionChainModel(QAbstractTableModel):
    """The chain's rows: an expiry heading, then that expiry's strikes, for each shown expiry.

    ``toggled(target, checked)`` says what a person asked; the model changes nothing itself, and
    shows what :meth:`set_state` last told it.
    """

    toggled = Signal(object, bool)

    def __init__(self, parent: QWidget | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self._clock = clock  # wall clock: expiries are wall-clock moments
        self._expiries: list[ChainExpiry] = []
        self._rows: list[ChainExpiry | ChainRow] = []
        self._expiry: int | None = None
        self._low: Decimal | None = None
        self._high: Decimal | None = None
        self._chosen: frozenset[Target] = frozenset()
        self._covering: Target | None = None
        self._editable = True

    # ------------------------------------------------------------------ what it holds

    def set_contracts(self, contracts: Iterable[OptionContract]) -> None:
        self._expiries = build_chain(contracts)
        self._refill()

    def set_filters(self, expiry: int | None, low: Decimal | None, high: Decimal | None) -> None:
        """Show only ``expiry`` (None: all) and strikes within ``low``..``high`` (None: open)."""
        self._expiry, self._low, self._high = expiry, low, high
        self._refill()

    def set_state(self, chosen: Iterable[Target], covering: Target | None,
                  editable: bool) -> None:
        """What is chosen, the broader target covering the whole chain if any, and whether a
        box may change (not while armed, not while covered)."""
        self._chosen = frozenset(chosen)
        self._covering = covering
        self._editable = editable
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, PUT))

    def expiries(self) -> list[int]:
        return [e.expiration_time for e in self._expiries]

    def contract_names(self, *, shown_only: bool = False) -> set[str]:
        rows: Iterable[ChainExpiry | ChainRow] = (
            self._rows if shown_only else (r for e in self._expiries for r in e.rows))
        return {c.name for r in rows if isinstance(r, ChainRow)
                for c in (r.call, r.put) if c is not None}

    def strike_rows(self, *, shown_only: bool = True) -> int:
        if shown_only:
            return sum(isinstance(r, ChainRow) for r in self._rows)
        return sum(len(e.rows) for e in self._expiries)

    def heading_rows(self) -> list[int]:
        return [n for n, r in enumerate(self._rows) if isinstance(r, ChainExpiry)]

    def contract_at(self, index: _Index) -> OptionContract | None:
        row = self._row(index)
        if not isinstance(row, ChainRow) or index.column() == STRIKE:
            return None
        return row.side(index.column() == CALL)

    def index_of(self, name: str) -> QModelIndex:
        """The cell of contract ``name`` (invalid when not shown)."""
        for number, row in enumerate(self._rows):
            if isinstance(row, ChainRow):
                for column, side in ((CALL, row.call), (PUT, row.put)):
                    if side is not None and side.name == name:
                        return self.index(number, column)
        return QModelIndex()

    def toggle(self, index: _Index) -> None:
        """Ask for the other state of the box at ``index``, if it has one that may change."""
        if self.flags(index) & Qt.ItemFlag.ItemIsUserCheckable:
            checked = self.data(index, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
            self.setData(index, Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked,
                         Qt.ItemDataRole.CheckStateRole)

    # ------------------------------------------------------------------ Qt's model interface

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation is Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return Qt.AlignmentFlag.AlignCenter
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        row = self._row(index)
        if row is None:
            return Qt.ItemFlag.NoItemFlags
        if isinstance(row, ChainExpiry):
            return Qt.ItemFlag.ItemIsEnabled
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        contract = self.contract_at(index)
        if (contract is not None and is_contract(contract.name) and self._editable
                and self._covering is None):
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def setData(self, index: _Index, value: Any,
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (role != Qt.ItemDataRole.CheckStateRole
                or not self.flags(index) & Qt.ItemFlag.ItemIsUserCheckable):
            return False
        contract = self.contract_at(index)
        if contract is None:
            return False
        checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value)
        self.toggled.emit(options(contract.name), checked)
        return True

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self._row(index)
        if row is None:
            return None
        if isinstance(row, ChainExpiry):
            return self._heading_data(row, index.column(), role)
        if index.column() == STRIKE:
            return self._strike_data(row, role)
        return self._side_data(row, index.column() == CALL, role)

    # ------------------------------------------------------------------ cells

    def _row(self, index: _Index) -> ChainExpiry | ChainRow | None:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        return self._rows[index.row()]

    def _heading_data(self, expiry: ChainExpiry, column: int, role: int) -> Any:
        if column != CALL:
            return None
        label = expiry_label(expiry.expiration_time, self._clock())
        count = len(expiry.rows)
        strikes = f"{count} strike{'s' if count != 1 else ''}"
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{label}  ·  {strikes}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"Expiry {label}, {strikes}"
        if role == Qt.ItemDataRole.ToolTipRole:
            moment = datetime.fromtimestamp(expiry.expiration_time, tz=UTC)
            return f"Expires {moment:%Y-%m-%d %H:%M} UTC"
        if role == Qt.ItemDataRole.FontRole:
            return _bold()
        if role == Qt.ItemDataRole.BackgroundRole:
            return QGuiApplication.palette().color(QPalette.ColorRole.Button)
        if role == Qt.ItemDataRole.ForegroundRole:
            return QGuiApplication.palette().color(QPalette.ColorRole.ButtonText)
        return None

    def _strike_data(self, row: ChainRow, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return format_number(row.strike)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter
        if role == Qt.ItemDataRole.FontRole:
            return _bold()
        if role in (Qt.ItemDataRole.AccessibleTextRole, Qt.ItemDataRole.ToolTipRole):
            return (f"Strike {row.strike}, expires {format_expiry(row.expiration_time)}: "
                    f"call on the left, put on the right")
        return None

    def _side_data(self, row: ChainRow, is_call: bool, role: int) -> Any:
        contract = row.side(is_call)
        side = "call" if is_call else "put"
        if contract is None:
            if role in (Qt.ItemDataRole.AccessibleTextRole, Qt.ItemDataRole.ToolTipRole):
                return (f"No {side} at strike {row.strike}, "
                        f"expiry {format_expiry(row.expiration_time)}: Gate lists none")
            return None
        target = options(contract.name) if is_contract(contract.name) else None
        if role == Qt.ItemDataRole.DisplayRole:
            return side.capitalize()
        if role == Qt.ItemDataRole.CheckStateRole:
            if target is None:
                return None  # not a name a target can hold: no box rather than a fake one
            return Qt.CheckState.Checked if target in self._chosen else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.FontRole and target in self._chosen:
            return _bold()
        if role == Qt.ItemDataRole.ForegroundRole and target is None:
            return QGuiApplication.palette().color(QPalette.ColorGroup.Disabled,
                                                   QPalette.ColorRole.Text)
        if role == NAME_ROLE:
            return contract.name
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return contract_words(contract.name) + self._state_words(target)
        if role == Qt.ItemDataRole.ToolTipRole:
            if target is None:
                return (f"{contract.name}: not a contract name a target can hold; only the "
                        f"whole underlying covers it.")
            return f"{contract.name}: {describe_target(target)}{self._state_words(target)}"
        return None

    def _state_words(self, target: Target | None) -> str:
        if target is None:
            return ""
        if self._covering is not None:
            return f"; covered by {self._covering}"
        chosen = ", chosen" if target in self._chosen else ""
        return chosen if self._editable else f"{chosen}; locked while armed"

    def _refill(self) -> None:
        self.beginResetModel()
        rows: list[ChainExpiry | ChainRow] = []
        for expiry in self._expiries:
            kept = [r for r in expiry.rows
                    if row_matches(r, self._expiry, self._low, self._high)]
            if kept:
                rows.append(expiry)
                rows.extend(kept)
        self._rows = rows
        self.endResetModel()


def _bold() -> QFont:
    font = QGuiApplication.font()
    font.setBold(True)
    return font


class _ChainDelegate(QStyledItemDelegate):
    """A click anywhere on a side toggles its box (not only on the small square), and a box
    that may not change (covered, or locked while armed) is drawn greyed."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: _Index) -> None:
        super().initStyleOption(option, index)
        if (index.data(Qt.ItemDataRole.CheckStateRole) is not None
                and not index.flags() & Qt.ItemFlag.ItemIsUserCheckable):
            option.state &= ~QStyle.StateFlag.State_Enabled  # type: ignore[assignment]

    def editorEvent(self, event: QEvent, model: QAbstractItemModel,
                    option: QStyleOptionViewItem, index: _Index) -> bool:
        checkable = bool(index.flags() & Qt.ItemFlag.ItemIsUserCheckable)
        if (checkable and isinstance(event, QMouseEvent)
                and event.button() == Qt.MouseButton.LeftButton
                and isinstance(model, OptionChainModel)):
            if event.type() == QEvent.Type.MouseButtonRelease:
                if option.rect.contains(event.position().toPoint()):  # type: ignore[attr-defined]
                    model.toggle(index)
                return True
            if event.type() == QEvent.Type.MouseButtonDblClick:
                return True
        return super().editorEvent(event, model, option, index)


class OptionsTab(QWidget):
    """Choose option targets. ``chosenChanged(target, checked)`` asks the picker;
    ``underlyingChanged(name or None)`` says whose contracts to load."""

    chosenChanged = Signal(object, bool)
    underlyingChanged = Signal(object)
    retryUnderlyings = Signal()
    retryContracts = Signal()

    def __init__(self, parent: QWidget | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.underlying: str | None = None  # whose chain is shown
        self._clock = clock  # wall clock, for the time left to each expiry
        self._chosen: list[Target] = []
        self._editable = True
        self._syncing = False
        self._build()

    def _build(self) -> None:
        self.all_options_check = QCheckBox("All o&ptions (options:all)", self)
        self.all_options_check.setAccessibleName("All options")
        self.all_options_check.setToolTip("One countdown for every option order")
        self.all_options_check.toggled.connect(lambda on: self._ask(options(), on))

        left = QWidget(self)
        underlyings_label = QLabel("&Underlyings", left)
        self.underlying_status = LoadStatus("option underlyings", left)
        self.underlying_status.retryRequested.connect(self.retryUnderlyings)
        self.underlying_list = QListWidget(left)
        self.underlying_list.setAccessibleName("Option underlyings")
        self.underlying_list.setSpacing(2)  # two-line items, told apart
        underlyings_label.setBuddy(self.underlying_list)
        self.underlying_list.currentItemChanged.connect(self._current_changed)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(underlyings_label)
        left_layout.addWidget(self.underlying_status)
        left_layout.addWidget(self.underlying_list, 1)

        right = QWidget(self)
        # Across the whole tab, under "All options": a long underlying name never squeezes the
        # chain.
        self.underlying_check = QCheckBox("Every option of the chosen underlying", self)
        self.underlying_check.setAccessibleName("Protect the whole underlying")
        self.underlying_check.toggled.connect(
            lambda on: self.underlying is not None and self._ask(options(self.underlying), on))

        expiry_label_ = QLabel("E&xpiry:", right)
        self.expiry_combo = QComboBox(right)
        self.expiry_combo.setAccessibleName("Show the expiry")
        # Narrow enough for the picker at 960 px; the list that drops down is as wide as needed.
        self.expiry_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.expiry_combo.setMinimumContentsLength(len("11 Dec 2026 (8 days)"))
        expiry_label_.setBuddy(self.expiry_combo)
        self.expiry_combo.currentIndexChanged.connect(lambda _n: self._apply_filters())
        strikes_label = QLabel("Stri&kes:", right)
        self.strike_low = QLineEdit(right)
        self.strike_low.setAccessibleName("Lowest strike shown")
        self.strike_low.setPlaceholderText("from")
        self.strike_high = QLineEdit(right)
        self.strike_high.setAccessibleName("Highest strike shown")
        self.strike_high.setPlaceholderText("to")
        strikes_label.setBuddy(self.strike_low)
        for edit in (self.strike_low, self.strike_high):
            edit.setToolTip("Show only strikes in this range: 95000, 95,000 or 95k; "
                            "empty for no bound. Hidden contracts stay chosen.")
            edit.setClearButtonEnabled(True)
            edit.setMaximumWidth(edit.fontMetrics().horizontalAdvance("0000000") + 36)
            edit.textChanged.connect(lambda _text: self._apply_filters())
        self.filter_message = QLabel(right)
        self.filter_message.setAccessibleName("Strike filter message")
        self.filter_message.setWordWrap(True)
        self.filter_message.setProperty("tone", "error")  # red in style.qss
        self.filter_message.hide()
        self.covered_note = QLabel(right)
        self.covered_note.setAccessibleName("Contracts covered")
        self.covered_note.setWordWrap(True)
        self.covered_note.hide()
        self.contracts_status = LoadStatus("option contracts", right)
        self.contracts_status.retryRequested.connect(self.retryContracts)

        self.chain_model = OptionChainModel(self, clock=self._clock)
        self.chain_model.toggled.connect(self._ask)
        self.chain_model.modelReset.connect(self._respan)
        self.chain = QTableView(right)
        self.chain.setAccessibleName("Option chain")
        self.chain.setModel(self.chain_model)
        self.chain.setItemDelegate(_ChainDelegate(self.chain))
        self.chain.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.chain.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.chain.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.chain.setTabKeyNavigation(False)  # Tab leaves for the next control; arrows move
        self.chain.setWordWrap(False)
        self.chain.verticalHeader().hide()
        self.chain.verticalHeader().setDefaultSectionSize(self.chain.fontMetrics().height() + 8)
        self.chain.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.chain.horizontalHeader().setHighlightSections(False)
        self.chain.installEventFilter(SpaceTogglesRowCheck(self.chain, self.chain_model.toggle))
        self.count = QLabel(right)
        self.count.setAccessibleName("Option contracts shown")
        self.count.setWordWrap(True)

        # Two short rows rather than one long one: the picker is about 480 px wide at 960.
        filters = QGridLayout()
        filters.addWidget(expiry_label_, 0, 0)
        filters.addWidget(self.expiry_combo, 0, 1, 1, 3)
        filters.addWidget(strikes_label, 1, 0)
        filters.addWidget(self.strike_low, 1, 1)
        filters.addWidget(QLabel("–", right), 1, 2)
        filters.addWidget(self.strike_high, 1, 3)
        filters.setColumnStretch(4, 1)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(filters)
        right_layout.addWidget(self.filter_message)
        right_layout.addWidget(self.covered_note)
        right_layout.addWidget(self.contracts_status)
        right_layout.addWidget(self.chain, 1)
        right_layout.addWidget(self.count)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.all_options_check)
        layout.addWidget(self.underlying_check)
        layout.addWidget(splitter, 1)
        # Tab follows the eye: the two broad boxes, the underlyings, the filters, the chain.
        for first, second in ((self.all_options_check, self.underlying_check),
                              (self.underlying_check, self.underlying_list),
                              (self.underlying_list, self.expiry_combo),
                              (self.expiry_combo, self.strike_low),
                              (self.strike_low, self.strike_high),
                              (self.strike_high, self.chain)):
            QWidget.setTabOrder(first, second)
        self._fill_expiries()
        self._update_count()

    # ------------------------------------------------------------------ the picker's calls

    def show_underlyings(self, underlyings: list[Underlying]) -> None:
        """List ``underlyings``; the shown one stays, else the first is shown."""
        shown = self.underlying
        names = {u.name for u in underlyings}
        self.underlying_list.blockSignals(True)  # rebuilding would move the current item
        try:
            self.underlying_list.clear()
            for underlying in sorted(underlyings, key=lambda u: u.name):
                price = format_number(underlying.index_price)
                # Two lines keep the list narrow, leaving the width to the chain.
                text = f"{underlying.name}\nindex {price}" if price else underlying.name
                item = QListWidgetItem(text)
                item.setData(NAME_ROLE, underlying.name)
                item.setToolTip(f"{underlying.name}: index price {price or 'unknown'}")
                self.underlying_list.addItem(item)
                if underlying.name == shown:
                    self.underlying_list.setCurrentItem(item)
        finally:
            self.underlying_list.blockSignals(False)
        # Wide enough for "BTC_USDT" over "index 97,000" without a horizontal scroll bar.
        if self.underlying_list.count():
            wanted = (self.underlying_list.sizeHintForColumn(0)
                      + 2 * self.underlying_list.frameWidth()
                      + self.underlying_list.verticalScrollBar().sizeHint().width() + 8)
            self.underlying_list.setMinimumWidth(min(wanted, 200))
        if shown is None or shown not in names:
            # The first underlying's chain, so the chain is never empty for no reason.
            self._current_changed(self.underlying_list.item(0))
            if self.underlying_list.count():
                self.underlying_list.setCurrentRow(0)
        self.sync(self._chosen, self._editable)

    def show_contracts(self, contracts: list[OptionContract]) -> None:
        """Show ``contracts`` (of the shown underlying) as its chain."""
        self._keeping_current(lambda: self.chain_model.set_contracts(contracts))
        self._fill_expiries()
        self._update_count()

    def clear(self) -> None:
        self.underlying_list.blockSignals(True)
        try:
            self.underlying_list.clear()
        finally:
            self.underlying_list.blockSignals(False)
        self.underlying = None
        self._show_underlying_texts()
        self.show_contracts([])
        self.contracts_status.clear()

    def sync(self, chosen: list[Target], editable: bool) -> None:
        """Show ``chosen``; while ``editable`` is False (armed) no box can change."""
        self._chosen = list(chosen)
        self._editable = editable
        wanted = set(chosen)
        options_all = options() in wanted
        underlying = self.underlying
        whole = underlying is not None and options(underlying) in wanted
        self._syncing = True
        try:
            self.all_options_check.setChecked(options_all)
            self.underlying_check.setChecked(whole)
        finally:
            self._syncing = False
        for row in range(self.underlying_list.count()):
            item = self.underlying_list.item(row)
            font = item.font()
            # Bold marks an underlying with something chosen under it; Selected says what.
            font.setBold(any(t.product is Product.OPTIONS and not t.is_all
                             and underlying_of(t) == item.data(NAME_ROLE) for t in chosen))
            item.setFont(font)
        self.all_options_check.setEnabled(editable)
        self.underlying_check.setEnabled(editable and underlying is not None and not options_all)
        covering = options() if options_all else (options(underlying or "") if whole else None)
        self.chain_model.set_state(wanted, covering, editable)
        if covering is not None:
            self.covered_note.setText(
                f"Covered by {covering}, which takes in every contract below (and any Gate "
                f"lists later); these boxes count again once it is unchecked.")
        self.covered_note.setVisible(covering is not None)
        self._update_count()

    # ------------------------------------------------------------------ inside

    def _ask(self, target: Target, checked: bool) -> None:
        if not self._syncing:
            self.chosenChanged.emit(target, checked)

    def _current_changed(self, current: QListWidgetItem | None,
                         _previous: QListWidgetItem | None = None) -> None:
        underlying = None if current is None else str(current.data(NAME_ROLE))
        if underlying == self.underlying:
            return
        self.underlying = underlying
        # Another underlying's strikes are another scale: a strike range would hide them all.
        for edit in (self.strike_low, self.strike_high):
            edit.blockSignals(True)
            edit.clear()
            edit.blockSignals(False)
        self.chain_model.set_filters(self._chosen_expiry(), None, None)
        self.show_contracts([])
        self._show_underlying_texts()
        if underlying is None:
            self.contracts_status.clear()
        self.underlyingChanged.emit(underlying)

    def _show_underlying_texts(self) -> None:
        underlying = self.underlying
        if underlying is None:
            self.underlying_check.setText("Every option of the chosen underlying")
            self.chain.setAccessibleName("Option chain")
        else:
            self.underlying_check.setText(f"Every {underlying} option (options:{underlying})")
            self.chain.setAccessibleName(f"Option chain of {underlying}")

    def _chosen_expiry(self) -> int | None:
        data = self.expiry_combo.currentData()
        return int(data) if isinstance(data, int) else None

    def _fill_expiries(self) -> None:
        wanted = self._chosen_expiry()
        now = self._clock()
        self.expiry_combo.blockSignals(True)
        try:
            self.expiry_combo.clear()
            self.expiry_combo.addItem("All expiries", None)
            for expiry in self.chain_model.expiries():
                self.expiry_combo.addItem(expiry_label(expiry, now), expiry)
                if expiry == wanted:
                    self.expiry_combo.setCurrentIndex(self.expiry_combo.count() - 1)
        finally:
            self.expiry_combo.blockSignals(False)
        if wanted is not None and self._chosen_expiry() != wanted:
            self._apply_filters()  # that expiry is gone: show them all

    def _apply_filters(self) -> None:
        """Hide rows by expiry and strike; a bound that is not a strike changes nothing."""
        try:
            low = parse_strike_bound(self.strike_low.text())
            high = parse_strike_bound(self.strike_high.text())
        except StrikeBoundError as exc:
            self._show_filter_message(str(exc))
            return
        if low is not None and high is not None and low > high:
            self._show_filter_message("The lowest strike is above the highest: nothing hidden "
                                      "or shown until that is fixed.")
            return
        self._show_filter_message("")
        expiry = self._chosen_expiry()
        self._keeping_current(lambda: self.chain_model.set_filters(expiry, low, high))
        self._update_count()

    def _show_filter_message(self, message: str) -> None:
        self.filter_message.setText(message)
        self.filter_message.setVisible(bool(message))

    def _keeping_current(self, change: Callable[[], None]) -> None:
        """Run ``change`` (a model reset) and put the keyboard back on the same contract."""
        current = self.chain.currentIndex()
        contract = self.chain_model.contract_at(current)
        change()
        if contract is not None:
            index = self.chain_model.index_of(contract.name)
            if index.isValid():
                self.chain.setCurrentIndex(index)

    def _respan(self) -> None:
        self.chain.clearSpans()
        for row in self.chain_model.heading_rows():
            self.chain.setSpan(row, 0, 1, len(COLUMNS))

    def _update_count(self) -> None:
        listed = self.chain_model.contract_names()
        if not listed:
            self.count.setText("")
            return
        shown = self.chain_model.contract_names(shown_only=True)
        expiries = len(self.chain_model.expiries())
        text = (f"{len(listed)} contracts in {expiries} expir{'ies' if expiries != 1 else 'y'}"
                if len(shown) == len(listed)
                else f"{len(shown)} of {len(listed)} contracts shown")
        hidden = listed - shown
        hidden_chosen = sum(1 for t in self._chosen
                            if t.product is Product.OPTIONS and t.name in hidden)
        if hidden_chosen:
            text += (f"; {hidden_chosen} chosen contract{' is' if hidden_chosen == 1 else 's are'}"
                     " hidden by the filters and still chosen (see Selected)")
        self.count.setText(text)
