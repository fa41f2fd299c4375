"""Where this computer keeps what must outlive the process but is not a setting: what was left
armed, and which process owns which target (the user's state directory).

``$GATE_KILLSWITCH_STATE_DIR`` overrides it, as the config, data and cache directories have
their own overrides (``settings.config_dir``, ``journal.data_dir``, ``market_cache.cache_dir``).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from gui.core.settings import APP_NAME

STATE_DIR_ENV = "GATE_KILLSWITCH_STATE_DIR"


def state_dir() -> Path:
    """``$GATE_KILLSWITCH_STATE_DIR`` or the platform's user state directory
    (``~/.local/state/gate-killswitch`` on Linux)."""
    override = os.environ.get(STATE_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))
