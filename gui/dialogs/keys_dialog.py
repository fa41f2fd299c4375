"""ProfilesDialog: profiles (name and endpoint), their API key and secret, and a key test.

The key and secret go only to the OS keyring, through :class:`~gui.core.keys.ProfileStore`; the
settings file gets the name and base URL. After a save the key and secret fields are emptied, so
the secret does not linger in a widget. When no keyring backend works, the dialog says so and
how to fix it, Save is disabled, and nothing is stored anywhere.

Keyring and network work runs off the GUI thread (``in_thread``); nothing here is modal inside
async code: deleting asks for confirmation in an inline bar.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.core.client import GateClient, KeyCheck
from gui.core.errors import AuthenticationError, GateError
from gui.core.keys import (
    KeyringUnavailable,
    KeysError,
    ProfileStore,
    validate_profile_name,
)
from gui.core.redact import register_secret
from gui.core.urls import LIVE_URL, TESTNET_URL, BaseUrlError, validate_base_url
from gui.dialogs.fit import grow_to_fit
from gui.tasks import BackgroundTasks, in_thread
from gui.words import describe_check, endpoint_label

__all__ = ["ProfilesDialog"]

log = logging.getLogger(__name__)

ClientFactory = Callable[[str, str, str], GateClient]

ENDPOINT_LIVE = 0
ENDPOINT_TESTNET = 1
ENDPOINT_CUSTOM = 2
_ENDPOINT_URLS = {ENDPOINT_LIVE: LIVE_URL, ENDPOINT_TESTNET: TESTNET_URL}

# A profile name only read, never written: asking for it tells whether the keyring answers.
_PROBE_PROFILE = "gate-killswitch keyring check"

# Keep on-screen keyboards and input methods from learning or suggesting the text.
_SENSITIVE_HINTS = (Qt.InputMethodHint.ImhHiddenText | Qt.InputMethodHint.ImhSensitiveData
                    | Qt.InputMethodHint.ImhNoAutoUppercase
                    | Qt.InputMethodHint.ImhNoPredictiveText)


def _tone(label: QLabel, tone: str) -> None:
    """Colour a message by what it says ('error', 'ok', 'caution', 'banner', or '' for plain): the
    colours are the theme's, in style.qss and style-dark.qss."""
    if label.property("tone") != tone:
        label.setProperty("tone", tone)
        label.style().unpolish(label)
        label.style().polish(label)


def _default_client_factory(base_url: str, key: str, secret: str) -> GateClient:
    return GateClient(base_url, key, secret)


@dataclass(frozen=True)
class _Listed:
    """A profile as the list shows it; ``has_keys`` is None when the keyring cannot say."""

    name: str
    base_url: str
    has_keys: bool | None


class ProfilesDialog(QDialog):
    """Create, edit, test and delete profiles; "Use this profile" picks one."""

    profilesChanged = Signal()
    profileChosen = Signal(str)

    def __init__(self, profiles: ProfileStore, parent: QWidget | None = None,
                 client_factory: ClientFactory | None = None) -> None:
        super().__init__(parent)
        grow_to_fit(self)  # as tall as its messages need
        self._profiles = profiles
        self._client_factory = client_factory or _default_client_factory
        self._listed: list[_Listed] = []
        self._keyring_problem = ""
        self._editing: str | None = None  # the saved profile in the form; None: a new one
        self._busy = False
        self._busy_text = ""
        # Bumped when the form changes to another profile: a late key test result is dropped.
        self._form_generation = 0
        self._refresh_scheduled = False
        self._background = BackgroundTasks("The profiles dialog's background work",
                                           no_loop_level=logging.ERROR)
        self.setWindowTitle("Profiles and API keys")
        self.setAccessibleName("Profiles and API keys")
        self._build()
        self._start_new_profile()

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        self.keyring_banner = QLabel(self)
        self.keyring_banner.setAccessibleName("Keyring problem")
        self.keyring_banner.setWordWrap(True)
        _tone(self.keyring_banner, "banner")
        self.keyring_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.keyring_banner.hide()

        # Left: the saved profiles.
        left = QWidget(self)
        profiles_label = QLabel("&Profiles", left)
        self.profile_list = QListWidget(left)
        self.profile_list.setAccessibleName("Profiles")
        self.profile_list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.profile_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        profiles_label.setBuddy(self.profile_list)
        self.profile_list.currentItemChanged.connect(self._profile_highlighted)
        self.profile_list.itemActivated.connect(lambda _item: self._use_profile())
        self.new_button = QPushButton("&New profile", left)
        self.new_button.setAccessibleName("New profile")
        self.new_button.clicked.connect(self._start_new_profile)
        self.delete_button = QPushButton("&Delete…", left)
        self.delete_button.setAccessibleName("Delete profile")
        self.delete_button.clicked.connect(self._ask_delete)
        self.use_button = QPushButton("&Use this profile", left)
        self.use_button.setAccessibleName("Use this profile")
        self.use_button.clicked.connect(self._use_profile)

        self.delete_bar = QFrame(left)
        self.delete_bar.setFrameShape(QFrame.Shape.StyledPanel)
        self.delete_question = QLabel(self.delete_bar)
        self.delete_question.setWordWrap(True)
        self.delete_question.setAccessibleName("Delete confirmation")
        self.confirm_delete_button = QPushButton("Delete", self.delete_bar)
        self.confirm_delete_button.setAccessibleName("Confirm delete")
        self.confirm_delete_button.clicked.connect(
            lambda: self._spawn(self.delete_profile(self._editing or "")))
        self.cancel_delete_button = QPushButton("Keep", self.delete_bar)
        self.cancel_delete_button.setAccessibleName("Cancel delete")
        self.cancel_delete_button.clicked.connect(self._hide_delete_bar)
        bar_buttons = QHBoxLayout()
        bar_buttons.addStretch(1)
        bar_buttons.addWidget(self.cancel_delete_button)
        bar_buttons.addWidget(self.confirm_delete_button)
        bar_layout = QVBoxLayout(self.delete_bar)
        bar_layout.addWidget(self.delete_question)
        bar_layout.addLayout(bar_buttons)
        self.delete_bar.hide()

        self.list_message = QLabel(left)
        self.list_message.setAccessibleName("Profiles message")
        self.list_message.setWordWrap(True)
        self.list_message.hide()

        list_buttons = QHBoxLayout()
        list_buttons.addWidget(self.new_button)
        list_buttons.addWidget(self.delete_button)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(profiles_label)
        left_layout.addWidget(self.profile_list, 1)
        left_layout.addWidget(self.list_message)
        left_layout.addLayout(list_buttons)
        left_layout.addWidget(self.delete_bar)
        left_layout.addWidget(self.use_button)

        # Right: the form of one profile.
        self.form_box = QGroupBox("New profile", self)
        self.name_edit = QLineEdit(self.form_box)
        self.name_edit.setAccessibleName("Profile name")
        self.name_edit.setPlaceholderText("for example: main, testnet")
        self.name_edit.setMaxLength(40)
        self.endpoint_combo = QComboBox(self.form_box)
        self.endpoint_combo.setAccessibleName("Endpoint")
        self.endpoint_combo.addItem("Live (api.gateio.ws)")
        self.endpoint_combo.addItem("TestNet (api-testnet.gateapi.io)")
        self.endpoint_combo.addItem("Custom URL")
        self.endpoint_combo.currentIndexChanged.connect(self._endpoint_changed)
        self.url_edit = QLineEdit(self.form_box)
        self.url_edit.setAccessibleName("Base URL")
        self.url_edit.setPlaceholderText("https://…/api/v4")
        self.url_edit.editingFinished.connect(self._check_url_in_place)
        self.url_edit.textEdited.connect(lambda _text: self._show_url_message(""))
        self.url_message = QLabel(self.form_box)
        self.url_message.setAccessibleName("Base URL message")
        self.url_message.setWordWrap(True)
        _tone(self.url_message, "error")
        self.url_message.hide()

        self.key_edit = QLineEdit(self.form_box)
        self.key_edit.setAccessibleName("API key")
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setInputMethodHints(_SENSITIVE_HINTS)
        self.show_key_check = QCheckBox("Show", self.form_box)
        self.show_key_check.setAccessibleName("Show API key")
        self.show_key_check.toggled.connect(self._show_key_toggled)
        self.secret_edit = QLineEdit(self.form_box)
        self.secret_edit.setAccessibleName("API secret")
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret_edit.setInputMethodHints(_SENSITIVE_HINTS)
        self.keys_hint = QLabel(self.form_box)
        self.keys_hint.setAccessibleName("Where keys are stored")
        self.keys_hint.setWordWrap(True)

        self.save_button = QPushButton("&Save", self.form_box)
        self.save_button.setAccessibleName("Save profile")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(lambda: self._spawn(self.save()))
        self.test_button = QPushButton("&Test key", self.form_box)
        self.test_button.setAccessibleName("Test key")
        self.test_button.clicked.connect(lambda: self._spawn(self.test_key()))
        self.form_message = QLabel(self.form_box)
        self.form_message.setAccessibleName("Profile message")
        self.form_message.setWordWrap(True)
        self.form_message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.form_message.hide()
        self.test_result = QLabel(self.form_box)
        self.test_result.setAccessibleName("Key test result")
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_result.hide()

        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.show_key_check)
        form = QFormLayout()
        form.addRow("&Name:", self.name_edit)
        form.addRow("&Endpoint:", self.endpoint_combo)
        form.addRow("&Base URL:", self.url_edit)
        form.addRow("", self.url_message)
        # addRow(text, widget) makes the label the widget's buddy; a row holding a layout
        # needs its label made by hand.
        key_label = QLabel("API &key:", self.form_box)
        key_label.setBuddy(self.key_edit)
        form.addRow(key_label, key_row)
        form.addRow("API se&cret:", self.secret_edit)
        form.addRow("", self.keys_hint)
        form_buttons = QHBoxLayout()
        form_buttons.addWidget(self.test_button)
        form_buttons.addStretch(1)
        form_buttons.addWidget(self.save_button)
        form_layout = QVBoxLayout(self.form_box)
        form_layout.addLayout(form)
        form_layout.addLayout(form_buttons)
        form_layout.addWidget(self.form_message)
        form_layout.addWidget(self.test_result)
        form_layout.addStretch(1)

        self.close_buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.close_buttons.setAccessibleName("Close")
        self.close_buttons.rejected.connect(self.reject)

        columns = QHBoxLayout()
        columns.addWidget(left, 2)
        columns.addWidget(self.form_box, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.keyring_banner)
        layout.addLayout(columns, 1)
        layout.addWidget(self.close_buttons)
        self.resize(780, 460)

    # ------------------------------------------------------------------ public API

    async def refresh(self) -> None:
        """Check the keyring and reload the list of profiles (both off the GUI thread)."""
        try:
            await in_thread(self._profiles.key_store.check_backend)
            # A backend can look fine and still be locked: one read finds out now, not at Save
            # (and lets the OS offer to unlock it while the person is looking at keys anyway).
            await in_thread(self._profiles.key_store.has, _PROBE_PROFILE)
        except KeyringUnavailable as exc:
            self._set_keyring_problem(str(exc))
        else:
            self._set_keyring_problem("")
        try:
            infos = await in_thread(self._profiles.list_profiles)
            listed = [_Listed(i.name, i.base_url, i.has_keys) for i in infos]
        except KeyringUnavailable as exc:
            # The names and URLs are in the settings file; only "has keys" needs the keyring.
            self._set_keyring_problem(str(exc))
            settings = await in_thread(self._profiles.settings_store.load)
            listed = [_Listed(p.name, p.base_url, None)
                      for _, p in sorted(settings.profiles.items())]
        self._show_profiles(listed)

    async def save(self) -> None:
        """Save the form: name and URL to the settings, key and secret only to the keyring."""
        if self._busy:
            return
        if self._keyring_problem:
            self._show_form_message(
                "Not saved: no usable OS keyring, and keys are never stored anywhere else.",
                error=True)
            return
        name = self.name_edit.text().strip()
        try:
            validate_profile_name(name)
        except KeysError as exc:
            self._show_form_message(str(exc), error=True)
            return
        url = self._form_url()
        if url is None:
            return
        key, secret = self.key_edit.text().strip(), self.secret_edit.text().strip()
        keep_stored = not key and not secret and self._stored_keys(name)
        if not keep_stored and (not key or not secret):
            self._show_form_message("Enter both the API key and the API secret.", error=True)
            return
        self._set_busy(True, "Saving…")
        try:
            if keep_stored:
                # Only the URL changed: the pair is read back and written again with it.
                credentials = await in_thread(self._profiles.credentials, name)
                key, secret = credentials.key, credentials.secret
            await in_thread(self._profiles.set_profile, name, url, key, secret)
        except KeyringUnavailable as exc:
            self._set_keyring_problem(str(exc))
            self._show_form_message("Not saved: no usable OS keyring. Nothing was stored.",
                                    error=True)
            return
        except KeysError as exc:
            self._show_form_message(f"Not saved: {exc}", error=True)
            return
        except Exception as exc:
            log.exception("Saving profile %r failed", name)
            self._show_form_message(
                f"Not saved: unexpected error ({type(exc).__name__}); the log has the details.",
                error=True)
            return
        finally:
            key = secret = ""
            self._set_busy(False)
        # Used: the fields let go of the pair now that the keyring holds it.
        self._forget_typed_keys()
        self._editing = name
        await self.refresh()
        entry = self._entry(name)
        if entry is not None:
            self._load_form(entry)
        self._show_form_message(
            f"Saved profile {name!r}: its key and secret are in the OS keyring.", error=False)
        self.profilesChanged.emit()

    async def test_key(self) -> None:
        """Ask the exchange what the entered (or stored) key can reach, and show it per product."""
        if self._busy:
            return
        url = self._form_url()
        if url is None:
            return
        name = self.name_edit.text().strip()
        key, secret = self.key_edit.text().strip(), self.secret_edit.text().strip()
        use_stored = not key and not secret and self._stored_keys(name)
        if not use_stored and (not key or not secret):
            self._show_test_result("Enter the API key and secret to test (or save them first).",
                                   error=True)
            return
        generation = self._form_generation
        self._set_busy(True)
        self._show_test_result("Testing the key…", error=False, tone="")
        tone = "error"
        try:
            if use_stored:
                credentials = await in_thread(self._profiles.credentials, name)
                key, secret = credentials.key, credentials.secret
            else:
                register_secret(key)
                register_secret(secret)
            check = await in_thread(self._check_key, url, key, secret)
        except AuthenticationError as exc:
            text, error = f"The exchange rejected this key. {exc}", True
        except GateError as exc:
            text, error = f"Could not test the key: {exc}", True
        except KeysError as exc:
            text, error = f"Could not read the stored key: {exc}", True
        except Exception as exc:
            log.exception("Testing a key failed")
            text, error = (f"Could not test the key: unexpected error ({type(exc).__name__}); "
                           "the log has the details."), True
        else:
            text, error = describe_check(check), False
            # The colour of success only for what is: every product read-write. "Unknown"
            # (could not check) and read-only are shown as a caution, with their reasons.
            tone = "ok" if all(check.can_arm.values()) else "caution"
        finally:
            key = secret = ""
            self._set_busy(False)
        if generation == self._form_generation:
            self._show_test_result(text, error=error, tone=tone)

    async def delete_profile(self, name: str) -> None:
        """Delete ``name``: its key pair from the keyring, then its entry from the settings."""
        self._hide_delete_bar()
        if not name or self._busy:
            return
        self._set_busy(True, "Deleting…")
        try:
            await in_thread(self._profiles.delete_profile, name)
        except KeyringUnavailable as exc:
            self._set_keyring_problem(str(exc))
            self._show_list_message(f"Not deleted: {exc}", error=True)
            return
        except KeysError as exc:
            self._show_list_message(f"Not deleted: {exc}", error=True)
            return
        finally:
            self._set_busy(False)
        self._show_list_message(f"Deleted profile {name!r} and its keys.", error=False)
        self._start_new_profile()
        await self.refresh()
        self.profilesChanged.emit()

    # ------------------------------------------------------------------ Qt events

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._refresh_scheduled:
            self._refresh_scheduled = True
            # Once shown and the loop runs: the keyring may be slow (D-Bus) and is asked off the
            # GUI thread.
            QTimer.singleShot(0, self, self._start_refresh)

    def done(self, result: int) -> None:
        self._forget_typed_keys()
        self._refresh_scheduled = False
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._forget_typed_keys()
        super().closeEvent(event)

    # ------------------------------------------------------------------ list

    def _start_refresh(self) -> None:
        self._spawn(self.refresh())

    def _show_profiles(self, listed: list[_Listed]) -> None:
        self._listed = listed
        keep = self._editing
        self.profile_list.blockSignals(True)
        try:
            self.profile_list.clear()
            for entry in listed:
                keys = {True: "keys stored", False: "no keys",
                        None: "keys unknown"}[entry.has_keys]
                # Two lines: a custom URL is too long to share one with the name.
                item = QListWidgetItem(f"{entry.name}\n    {endpoint_label(entry.base_url)}  ·  "
                                       f"{keys}")
                item.setData(Qt.ItemDataRole.UserRole, entry.name)
                item.setToolTip(f"{entry.name}: {entry.base_url}, {keys}"
                                + (" (the keyring cannot be read)" if entry.has_keys is None
                                   else ""))
                self.profile_list.addItem(item)
                if entry.name == keep:
                    self.profile_list.setCurrentItem(item)
        finally:
            self.profile_list.blockSignals(False)
        if keep is not None and keep not in {e.name for e in listed}:
            self._start_new_profile()
        elif keep is not None:
            self._refresh_keys_hint()
        self._update_enabled()

    def _entry(self, name: str | None) -> _Listed | None:
        return next((e for e in self._listed if e.name == name), None)

    def _stored_keys(self, name: str) -> bool:
        entry = self._entry(name)
        return entry is not None and name == self._editing and bool(entry.has_keys)

    def _profile_highlighted(self, current: QListWidgetItem | None,
                             _previous: QListWidgetItem | None = None) -> None:
        self._hide_delete_bar()
        entry = None if current is None else self._entry(current.data(Qt.ItemDataRole.UserRole))
        if entry is None:
            return
        self._load_form(entry)

    def _use_profile(self) -> None:
        item = self.profile_list.currentItem()
        if item is None:
            return
        name = str(item.data(Qt.ItemDataRole.UserRole))
        self.profileChosen.emit(name)
        self.accept()

    def _ask_delete(self) -> None:
        if self._editing is None:
            return
        self.delete_question.setText(
            f"Delete profile {self._editing!r}? Its API key and secret are removed from the OS "
            "keyring; the exchange keeps the key itself.")
        self.delete_bar.show()
        self.cancel_delete_button.setFocus()

    def _hide_delete_bar(self) -> None:
        self.delete_bar.hide()

    # ------------------------------------------------------------------ form

    def _start_new_profile(self) -> None:
        self._form_generation += 1
        self._editing = None
        self.profile_list.blockSignals(True)
        self.profile_list.setCurrentRow(-1)
        self.profile_list.clearSelection()
        self.profile_list.blockSignals(False)
        self.form_box.setTitle("New profile")
        self.name_edit.setReadOnly(False)
        self.name_edit.clear()
        self.endpoint_combo.setCurrentIndex(ENDPOINT_LIVE)
        self._endpoint_changed(ENDPOINT_LIVE)
        self._forget_typed_keys()
        self._show_form_message("", error=False)
        self._show_test_result("", error=False)
        self._refresh_keys_hint()
        self._hide_delete_bar()
        self._update_enabled()

    def _load_form(self, entry: _Listed) -> None:
        self._form_generation += 1
        self._editing = entry.name
        self.form_box.setTitle(f"Profile {entry.name}")
        self.name_edit.setText(entry.name)
        # Renaming would orphan the keyring entry; a new name is a new profile.
        self.name_edit.setReadOnly(True)
        if entry.base_url == LIVE_URL:
            self.endpoint_combo.setCurrentIndex(ENDPOINT_LIVE)
        elif entry.base_url == TESTNET_URL:
            self.endpoint_combo.setCurrentIndex(ENDPOINT_TESTNET)
        else:
            self.endpoint_combo.setCurrentIndex(ENDPOINT_CUSTOM)
            self.url_edit.setText(entry.base_url)
        self._endpoint_changed(self.endpoint_combo.currentIndex())
        self._forget_typed_keys()
        self._show_form_message("", error=False)
        self._show_test_result("", error=False)
        self._refresh_keys_hint()
        self._update_enabled()

    def _refresh_keys_hint(self) -> None:
        entry = self._entry(self._editing)
        if entry is not None and entry.has_keys:
            self.key_edit.setPlaceholderText("stored in the keyring")
            self.secret_edit.setPlaceholderText("stored in the keyring")
            self.keys_hint.setText("A key and secret are stored in the OS keyring. Leave both "
                                   "empty to keep them, or enter a new pair to replace them.")
        else:
            self.key_edit.setPlaceholderText("paste the API key")
            self.secret_edit.setPlaceholderText("paste the API secret")
            self.keys_hint.setText("The key and secret are stored only in the OS keyring, "
                                   "never in a file. Give the key spot and options read-write "
                                   "permission.")

    def _endpoint_changed(self, index: int) -> None:
        custom = index == ENDPOINT_CUSTOM
        # Greyed but readable for Live and TestNet: the URL used is always in view.
        self.url_edit.setEnabled(custom)
        if custom:
            if self.url_edit.text() in (LIVE_URL, TESTNET_URL):
                self.url_edit.clear()
        else:
            # The URL that will be used, shown even when it is not editable.
            self.url_edit.setText(_ENDPOINT_URLS[index])
        self._show_url_message("")

    def _form_url(self) -> str | None:
        """The validated base URL of the form, or None with the reason shown in place."""
        index = self.endpoint_combo.currentIndex()
        if index != ENDPOINT_CUSTOM:
            return _ENDPOINT_URLS[index]
        try:
            url = validate_base_url(self.url_edit.text())
        except BaseUrlError as exc:
            self._show_url_message(str(exc))
            return None
        self._show_url_message("")
        return url

    def _check_url_in_place(self) -> None:
        if self.endpoint_combo.currentIndex() == ENDPOINT_CUSTOM and self.url_edit.text().strip():
            self._form_url()

    def _show_key_toggled(self, shown: bool) -> None:
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Normal if shown
                                  else QLineEdit.EchoMode.Password)

    def _forget_typed_keys(self) -> None:
        # setText, not clear(): clear() is undoable, so Ctrl+Z would bring the key back.
        self.key_edit.setText("")
        self.secret_edit.setText("")
        self.show_key_check.setChecked(False)

    # ------------------------------------------------------------------ state and messages

    def _set_keyring_problem(self, message: str) -> None:
        self._keyring_problem = message
        if message:
            shown = html.escape(message, quote=False)
            self.keyring_banner.setText(
                f"<b>Keys cannot be saved.</b> {shown} Until then nothing is stored: "
                "\"Test key\" still works with a key typed here.")
        self.keyring_banner.setVisible(bool(message))
        self._update_enabled()

    def _set_busy(self, busy: bool, doing: str = "") -> None:
        self._busy = busy
        if busy and doing:
            self._show_form_message(doing, error=False)
            self._busy_text = doing
        elif not busy:
            # "Saving…" and the like end with the work; a result or error message stays.
            if self._busy_text and self.form_message.text() == self._busy_text:
                self._show_form_message("", error=False)
            self._busy_text = ""
        self._update_enabled()

    def _update_enabled(self) -> None:
        idle = not self._busy
        chosen = self._editing is not None
        self.save_button.setEnabled(idle and not self._keyring_problem)
        self.save_button.setToolTip(
            "No usable OS keyring: see the message at the top" if self._keyring_problem else "")
        self.test_button.setEnabled(idle)
        self.delete_button.setEnabled(idle and chosen)
        self.confirm_delete_button.setEnabled(idle)
        self.use_button.setEnabled(idle and chosen)
        self.new_button.setEnabled(idle)

    def _show_form_message(self, text: str, *, error: bool) -> None:
        self.form_message.setText(text)
        _tone(self.form_message, "error" if error else "")
        self.form_message.setVisible(bool(text))

    def _show_list_message(self, text: str, *, error: bool) -> None:
        self.list_message.setText(text)
        _tone(self.list_message, "error" if error else "")
        self.list_message.setVisible(bool(text))

    def _show_url_message(self, text: str) -> None:
        self.url_message.setText(text)
        self.url_message.setVisible(bool(text))

    def _show_test_result(self, text: str, *, error: bool, tone: str = "ok") -> None:
        self.test_result.setText(text)
        # Neither success nor failure ("caution"): a product that could not be checked, or
        # cannot be armed; never in the colour of success.
        _tone(self.test_result, "error" if error else tone if text else "")
        self.test_result.setVisible(bool(text))

    # ------------------------------------------------------------------ background work

    def _check_key(self, url: str, key: str, secret: str) -> KeyCheck:
        """Runs in a worker thread: one client for one check, closed afterwards."""
        client = self._client_factory(url, key, secret)
        try:
            return client.check_key()
        finally:
            client.close()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._background.spawn(coro)

    async def stop_background(self) -> None:
        """Cancel the dialog's keyring and network jobs and wait until they have ended (the
        app is quitting: none may still be pending when the event loop closes)."""
        await self._background.cancel_and_wait()


