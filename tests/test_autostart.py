"""Start at login: the XDG autostart entry, where the spec puts it, valid, and removable."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from gui.core import autostart


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


def test_the_entry_goes_under_xdg_config_home(config_home: Path) -> None:
    assert autostart.autostart_path() == config_home / "autostart" / autostart.ENTRY_NAME


@pytest.mark.parametrize("value", ["", "relative/dir"])
def test_an_unset_or_relative_xdg_config_home_means_dot_config(
        value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", value)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert autostart.autostart_path() == tmp_path / ".config" / "autostart" / \
        autostart.ENTRY_NAME


def test_enable_writes_a_valid_entry_that_starts_disarmed_and_disable_removes_it(
        config_home: Path) -> None:
    argv = ["/opt/gate killswitch/gate-killswitch", "--autostart"]
    assert not autostart.is_enabled()
    path = autostart.enable(argv)
    assert autostart.is_enabled() and path.is_file()
    text = path.read_text()
    assert 'Exec="/opt/gate killswitch/gate-killswitch" --autostart\n' in text
    # The Exec line reads back as the same command (the spec's quoting is a shell's here).
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert shlex.split(exec_line.removeprefix("Exec=")) == argv
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        assert not os.environ.get("CI"), "CI installs desktop-file-utils"
    else:
        check = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0 and not check.stdout.strip(), check.stdout + check.stderr
    autostart.enable(argv)  # again: replaced, not duplicated
    assert [p.name for p in path.parent.iterdir()] == [autostart.ENTRY_NAME]
    autostart.disable()
    assert not autostart.is_enabled()
    autostart.disable()  # nothing there: nothing to do


def test_the_command_starts_this_installation_with_the_autostart_flag(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    # Started as python -m gui (or by pytest): this Python, with -m gui.
    monkeypatch.setattr(sys, "argv", ["/somewhere/pytest"])
    assert autostart.command() == [str(Path(sys.executable).absolute()), "-m", "gui",
                                   autostart.AUTOSTART_FLAG]
    # Started by an installed script: that script, not whatever is first on PATH.
    script = tmp_path / "venv" / "bin" / "gate-killswitch"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    monkeypatch.setattr(sys, "argv", [str(script)])
    assert autostart.command() == [str(script.resolve()), autostart.AUTOSTART_FLAG]


def test_run_as_a_module_it_starts_where_the_package_is(config_home: Path) -> None:
    import sys

    import gui

    argv = [sys.executable, "-m", "gui", autostart.AUTOSTART_FLAG]
    text = autostart.entry_text(argv)
    assert f"Path={Path(gui.__file__).resolve().parents[1]}\n" in text
    assert "Path=" not in autostart.entry_text(["/opt/gate-killswitch/gate-killswitch",
                                                autostart.AUTOSTART_FLAG])
    tool = shutil.which("desktop-file-validate")
    if tool is not None:
        path = autostart.enable(argv)
        check = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0 and not check.stdout.strip(), check.stdout


def test_a_percent_sign_is_doubled_and_specials_are_escaped() -> None:
    text = autostart.entry_text(["/x/100%/app", 'say "$HOME"'])
    assert 'Exec=/x/100%%/app "say \\"\\$HOME\\""\n' in text


def test_an_unwritable_place_is_a_clear_error(config_home: Path) -> None:
    config_home.mkdir()
    (config_home / "autostart").write_text("a file where the folder should be")
    with pytest.raises(autostart.AutostartError, match="could not write"):
        autostart.enable(["/bin/true"])


def test_the_entry_written_here_really_starts_the_app(config_home: Path, tmp_path: Path) -> None:
    """What the desktop would run at login, run here (with --self-test, so it shows its
    window offscreen and exits), from the entry's working directory and without PYTHONPATH."""
    import json
    import sys

    path = autostart.enable([sys.executable, "-m", "gui", autostart.AUTOSTART_FLAG])
    fields = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    argv = [*shlex.split(fields["Exec"].replace("%%", "%")), "--self-test"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8",
           **{f"GATE_KILLSWITCH_{n}_DIR": str(tmp_path / n.lower())
              for n in ("CONFIG", "DATA", "CACHE", "STATE")}}
    result = subprocess.run(argv, cwd=fields.get("Path", str(tmp_path)), env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert "startup_s" in figures
