"""The real desktop the desktop tests run on (see stack.py); started once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.desktop.stack import PACKAGES, DesktopStack, missing_tools


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def desktop_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DesktopStack]:
    """Xvfb, a private session bus, dunst, trayer and GNOME Keyring, torn down after.

    In CI a missing tool fails the tests (CI installs them all: .ci/run); on a developer's
    machine it skips them, naming what to install.
    """
    missing = missing_tools()
    if missing:
        message = (f"the desktop tests need {', '.join(missing)} "
                   f"(apt-get install {PACKAGES})")
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    stack = DesktopStack(tmp_path_factory.mktemp("desktop")).start()
    try:
        yield stack
    finally:
        stack.stop()
