"""ProfilesDialog: keys go to the (in-memory) keyring and nowhere else; test key; delete."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from keyring.errors import KeyringLocked
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QWidget

from gui.core.keys import SERVICE, KeyStore, ProfileStore
from gui.core.settings import SettingsStore
from gui.core.urls import TESTNET_URL
from gui.dialogs.keys_dialog import ENDPOINT_CUSTOM, ENDPOINT_TESTNET, ProfilesDialog
from gui.simulator import Simulator
from tests.memkeyring import LockedKeyring, MemoryKeyring, _unregister, no_backend
from tests.widgets.conftest import RO_KEY, RO_SECRET, TEST_KEY, TEST_SECRET, run


@_unregister
class LocksOnWrite(MemoryKeyring):
    """Reads work; the write is refused, as when the keyring locks between open and Save."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")


def make_dialog(qtbot, profiles: ProfileStore) -> ProfilesDialog:
    dialog = ProfilesDialog(profiles)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    run(qtbot, dialog.refresh())
    return dialog


@pytest.fixture
def dialog(qtbot, qloop, profiles: ProfileStore) -> ProfilesDialog:
    return make_dialog(qtbot, profiles)


def files_containing(dirs: dict[str, Path], *needles: str) -> list[Path]:
    found = []
    for directory in dirs.values():
        for path in directory.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                if any(n.encode() in data for n in needles):
                    found.append(path)
    return found


def choose_endpoint(qtbot, dialog: ProfilesDialog, index: int) -> None:
    """With the keyboard: focus the combo box and step to the entry."""
    combo = dialog.endpoint_combo
    combo.setFocus()
    while combo.currentIndex() < index:
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    while combo.currentIndex() > index:
        qtbot.keyClick(combo, Qt.Key.Key_Up)
    assert combo.currentIndex() == index


def fill(qtbot, dialog: ProfilesDialog, *, name: str = "", url: str | None = None,
         key: str = "", secret: str = "") -> None:
    if name:
        dialog.name_edit.clear()
        qtbot.keyClicks(dialog.name_edit, name)
    if url is not None:
        choose_endpoint(qtbot, dialog, ENDPOINT_CUSTOM)
        dialog.url_edit.clear()
        qtbot.keyClicks(dialog.url_edit, url)
    if key:
        qtbot.keyClicks(dialog.key_edit, key)
    if secret:
        qtbot.keyClicks(dialog.secret_edit, secret)


def click(qtbot, button: QWidget) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def save_sim_profile(qtbot, dialog: ProfilesDialog, sim: Simulator, name: str = "sim") -> None:
    fill(qtbot, dialog, name=name, url=sim.base_url, key=TEST_KEY, secret=TEST_SECRET)
    with qtbot.waitSignal(dialog.profilesChanged, timeout=10_000):
        click(qtbot, dialog.save_button)


def profile_row(dialog: ProfilesDialog, name: str) -> int:
    for row in range(dialog.profile_list.count()):
        if dialog.profile_list.item(row).data(Qt.ItemDataRole.UserRole) == name:
            return row
    raise AssertionError(f"no profile {name} in the list")


def select_profile(qtbot, dialog: ProfilesDialog, name: str) -> None:
    view = dialog.profile_list
    item = view.item(profile_row(dialog, name))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.visualItemRect(item).center())
    assert dialog.name_edit.text() == name


def test_save_puts_key_and_secret_only_into_the_keyring(qtbot, dialog, sim, memory_keyring,
                                                       app_dirs, caplog):
    caplog.set_level(logging.DEBUG)
    assert not dialog.keyring_banner.isVisible()
    assert dialog.secret_edit.echoMode() == QLineEdit.EchoMode.Password
    assert dialog.key_edit.echoMode() == QLineEdit.EchoMode.Password
    save_sim_profile(qtbot, dialog, sim)

    stored = json.loads(memory_keyring.entries[(SERVICE, "sim")])
    assert stored == {"key": TEST_KEY, "secret": TEST_SECRET}
    assert "Saved profile 'sim'" in dialog.form_message.text()
    # Used, then let go of: nothing to read back or undo into view.
    assert dialog.key_edit.text() == "" and dialog.secret_edit.text() == ""
    dialog.key_edit.undo()
    dialog.secret_edit.undo()
    assert dialog.key_edit.text() == "" and dialog.secret_edit.text() == ""

    settings = json.loads((app_dirs["config"] / "settings.json").read_text())
    assert settings["profiles"] == {"sim": {"base_url": sim.base_url}}
    assert files_containing(app_dirs, TEST_SECRET, TEST_KEY) == []
    for widget in dialog.findChildren(QLineEdit):
        assert TEST_SECRET not in widget.text()

    row = dialog.profile_list.item(profile_row(dialog, "sim")).text()
    assert "keys stored" in row and sim.base_url in row
    assert TEST_SECRET not in caplog.text


def test_show_toggle_reveals_only_the_key(qtbot, dialog):
    click(qtbot, dialog.show_key_check)
    assert dialog.key_edit.echoMode() == QLineEdit.EchoMode.Normal
    assert dialog.secret_edit.echoMode() == QLineEdit.EchoMode.Password
    click(qtbot, dialog.show_key_check)
    assert dialog.key_edit.echoMode() == QLineEdit.EchoMode.Password


def test_test_key_shows_read_write_for_the_simulator_key(qtbot, dialog, sim):
    fill(qtbot, dialog, name="sim", url=sim.base_url, key=TEST_KEY, secret=TEST_SECRET)
    click(qtbot, dialog.test_button)
    qtbot.waitUntil(lambda: "Spot:" in dialog.test_result.text(), timeout=10_000)
    text = dialog.test_result.text()
    assert "Spot: read-write" in text and "Options: read-write" in text
    assert "USDT futures: read-write" in text and "BTC futures: read-write" in text
    assert dialog.test_result.property("tone") == "ok"  # the colour of success
    # Testing stores nothing.
    assert dialog.profile_list.count() == 0


def test_test_key_with_the_stored_pair_and_a_read_only_key(qtbot, dialog, sim):
    save_sim_profile(qtbot, dialog, sim)
    # The saved pair is used when the fields are empty.
    click(qtbot, dialog.test_button)
    qtbot.waitUntil(lambda: "Spot:" in dialog.test_result.text(), timeout=10_000)
    assert "Spot: read-write" in dialog.test_result.text()

    click(qtbot, dialog.new_button)
    fill(qtbot, dialog, name="ro", url=sim.base_url, key=RO_KEY, secret=RO_SECRET)
    click(qtbot, dialog.test_button)
    qtbot.waitUntil(lambda: "Spot:" in dialog.test_result.text(), timeout=10_000)
    text = dialog.test_result.text()
    assert "Spot: read-only" in text and "Options: read-only" in text
    assert "needs read-write" in text
    assert dialog.test_result.property("tone") == "caution"  # never the colour of success


def test_a_product_that_could_not_be_checked_is_shown_unknown_not_green(qtbot, dialog, sim):
    sim.add_fault("drop", path="/options/accounts")
    fill(qtbot, dialog, name="sim", url=sim.base_url, key=TEST_KEY, secret=TEST_SECRET)
    click(qtbot, dialog.test_button)
    qtbot.waitUntil(lambda: "Spot:" in dialog.test_result.text(), timeout=10_000)
    text = dialog.test_result.text()
    assert "Spot: read-write" in text and "reset or dropped" in text
    assert "Options: unknown" in text or "Options: could not" in text, text
    assert dialog.test_result.property("tone") == "caution"  # amber, never success's green


def test_test_key_with_a_wrong_secret_says_the_key_was_rejected(qtbot, dialog, sim, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-secret-0123456789"
    fill(qtbot, dialog, name="sim", url=sim.base_url, key=TEST_KEY, secret=wrong)
    click(qtbot, dialog.test_button)
    qtbot.waitUntil(lambda: "rejected" in dialog.test_result.text(), timeout=10_000)
    text = dialog.test_result.text()
    assert "INVALID_SIGNATURE" in text and "check the profile's key and secret" in text
    assert wrong not in text and TEST_KEY not in text
    assert wrong not in caplog.text


def test_a_bad_custom_url_is_shown_in_place_and_nothing_is_saved(qtbot, dialog, memory_keyring,
                                                                 app_dirs):
    fill(qtbot, dialog, name="proxy", url="http://example.com/api/v4", key=TEST_KEY,
         secret=TEST_SECRET)
    click(qtbot, dialog.save_button)
    qtbot.waitUntil(dialog.url_message.isVisible)
    assert "plain http" in dialog.url_message.text()
    assert memory_keyring.entries == {}
    assert not (app_dirs["config"] / "settings.json").exists()


def test_testnet_endpoint_and_editing_keeps_the_stored_keys(qtbot, dialog, memory_keyring, sim):
    save_sim_profile(qtbot, dialog, sim)
    select_profile(qtbot, dialog, "sim")
    assert dialog.name_edit.isReadOnly()
    choose_endpoint(qtbot, dialog, ENDPOINT_TESTNET)
    assert dialog.url_edit.text() == TESTNET_URL
    with qtbot.waitSignal(dialog.profilesChanged, timeout=10_000):
        click(qtbot, dialog.save_button)  # key and secret left empty: the stored ones stay
    assert json.loads(memory_keyring.entries[(SERVICE, "sim")])["secret"] == TEST_SECRET
    assert "TestNet" in dialog.profile_list.item(profile_row(dialog, "sim")).text()


def test_delete_asks_inline_then_removes_keys_and_profile(qtbot, dialog, sim, memory_keyring,
                                                          app_dirs):
    save_sim_profile(qtbot, dialog, sim)
    select_profile(qtbot, dialog, "sim")
    click(qtbot, dialog.delete_button)
    assert dialog.delete_bar.isVisible()
    assert "'sim'" in dialog.delete_question.text()
    click(qtbot, dialog.cancel_delete_button)  # keep it
    assert not dialog.delete_bar.isVisible()
    assert (SERVICE, "sim") in memory_keyring.entries

    click(qtbot, dialog.delete_button)
    with qtbot.waitSignal(dialog.profilesChanged, timeout=10_000):
        click(qtbot, dialog.confirm_delete_button)
    assert memory_keyring.entries == {}
    assert dialog.profile_list.count() == 0
    settings = json.loads((app_dirs["config"] / "settings.json").read_text())
    assert settings["profiles"] == {}
    assert dialog.name_edit.text() == "" and not dialog.name_edit.isReadOnly()


def test_use_this_profile_emits_its_name(qtbot, dialog, sim):
    save_sim_profile(qtbot, dialog, sim)
    select_profile(qtbot, dialog, "sim")
    with qtbot.waitSignal(dialog.profileChosen) as chosen:
        click(qtbot, dialog.use_button)
    assert chosen.args == ["sim"]
    assert not dialog.isVisible()


@pytest.mark.parametrize("backend", [LockedKeyring, no_backend], ids=["locked", "none"])
def test_no_working_keyring_shows_the_fix_and_stores_nothing(qtbot, qloop, app_dirs, backend,
                                                            sim):
    profiles = ProfileStore(SettingsStore(), KeyStore(backend()))
    dialog = make_dialog(qtbot, profiles)
    assert dialog.keyring_banner.isVisible()
    banner = dialog.keyring_banner.text()
    assert "Keys cannot be saved" in banner
    assert ("unlock" in banner) if backend is LockedKeyring else ("no keyring backend" in banner)
    assert "gnome-keyring" in banner or "Keychain" in banner or "Credential Manager" in banner
    assert not dialog.save_button.isEnabled()

    fill(qtbot, dialog, name="sim", url=sim.base_url, key=TEST_KEY, secret=TEST_SECRET)
    click(qtbot, dialog.save_button)  # disabled: nothing happens
    run(qtbot, dialog.save())  # and the code path behind it refuses too
    assert "Not saved" in dialog.form_message.text()
    assert files_containing(app_dirs, TEST_SECRET, TEST_KEY) == []
    assert not (app_dirs["config"] / "settings.json").exists()

    # Test key still works with the typed pair: it stores nothing.
    click(qtbot, dialog.test_button)
    qtbot.waitUntil(lambda: "Spot: read-write" in dialog.test_result.text(), timeout=10_000)


def test_keyring_failing_at_save_shows_the_message_and_stores_nothing(qtbot, qloop, app_dirs,
                                                                     sim):
    backend = LocksOnWrite()
    dialog = make_dialog(qtbot, ProfileStore(SettingsStore(), KeyStore(backend)))
    assert not dialog.keyring_banner.isVisible()
    fill(qtbot, dialog, name="sim", url=sim.base_url, key=TEST_KEY, secret=TEST_SECRET)
    click(qtbot, dialog.save_button)
    qtbot.waitUntil(dialog.keyring_banner.isVisible, timeout=10_000)
    assert "locked" in dialog.keyring_banner.text()
    assert not dialog.save_button.isEnabled()
    assert backend.entries == {}
    assert not (app_dirs["config"] / "settings.json").exists()
    assert files_containing(app_dirs, TEST_SECRET, TEST_KEY) == []


def test_every_control_has_an_accessible_name(dialog):
    for widget in dialog.findChildren(QWidget):
        if widget.focusPolicy() != Qt.FocusPolicy.NoFocus and widget.isVisibleTo(dialog):
            owner = widget.parent()
            if not widget.accessibleName() and owner is not None and owner.accessibleName():
                continue
            assert widget.accessibleName(), f"{type(widget).__name__} has no accessible name"


def test_screenshot(qtbot, dialog, sim, tmp_path):
    """Set GATE_KILLSWITCH_SCREENSHOT_DIR to keep the picture."""
    out = Path(os.environ.get("GATE_KILLSWITCH_SCREENSHOT_DIR") or tmp_path)
    save_sim_profile(qtbot, dialog, sim)
    select_profile(qtbot, dialog, "sim")
    click(qtbot, dialog.test_button)
    qtbot.waitUntil(lambda: "Spot:" in dialog.test_result.text(), timeout=10_000)
    assert dialog.grab().save(str(out / "keys-dialog.png"))
    locked = make_dialog(qtbot, ProfileStore(SettingsStore(), KeyStore(LockedKeyring())))
    assert locked.grab().save(str(out / "keys-dialog-locked.png"))
