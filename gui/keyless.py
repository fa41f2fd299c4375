"""A profile in use without its key: the keyring could not be read, the settings could.

The profile's name and base URL are in the settings file and the market lists are public, so
the window still says which profile was chosen and lists its exchange's markets, through a
client that has no key (signed calls are refused by the client before anything is sent).
Everything that needs the key (arming, cancelling, resuming, disarming) is refused in words
that name the keyring; the engine is not built, so nothing can look armed by this run. But what
an earlier run left armed is read from this computer's state file, which needs no key: those
countdowns may still run on the exchange, and the window shows them (LEFT ARMED, FIRED once
their time is up) rather than "Not armed". Once the key is loaded the controller's
``use_client`` takes over (the same profile, so the cards stay) and :meth:`KeylessProfile.clear`
lets this go.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gui.words import keyless_profile_text, needs_keyring

if TYPE_CHECKING:
    from gui.core.armed import ArmedRecorder
    from gui.core.client import GateClient
    from gui.core.journal import Journal
    from gui.core.settings import Profile
    from gui.left_armed import LeftArmed
    from gui.window.main_window import MainWindow

log = logging.getLogger(__name__)

__all__ = ["KeylessProfile"]


class KeylessProfile:
    """The chosen profile whose key the keyring could not give, and its public client."""

    def __init__(self, window: MainWindow, left_armed: LeftArmed, journal: Journal) -> None:
        self._window = window
        self._left_armed = left_armed
        self._journal = journal
        self.profile: Profile | None = None
        self.client: GateClient | None = None
        self.recorder: ArmedRecorder | None = None  # the profile's record of what is armed

    def show(self, profile: Profile, problem: str, *, painted: bool, keep: bool = False
             ) -> None:
        """Say ``profile`` is chosen but its key is not loaded (``problem``: the keyring's
        message, with its fix), refuse to arm, and list its markets (now, or once painted).

        ``keep``: a key is loaded already (another profile's). It stays in use, since its
        engine is the one ARM and STOP reach, so only the problem is said.
        """
        from gui.core.client import GateClient

        window = self._window
        if keep:
            window.post("critical", "Keys not loaded",
                        f"{problem} Profile {profile.name} was not loaded; the profile in use "
                        "stays.", key="profile")
            return
        self.clear()
        window.set_can_arm(False, needs_keyring("Arming"))
        window.post("critical", "Keys not loaded",
                    f"{problem} Profile {profile.name}'s markets are listed without the key; "
                    "arming waits for the keyring.", key="profile")
        window.set_profile_text(keyless_profile_text(profile.name, profile.base_url))
        self.profile = profile
        self._show_left_armed(profile)
        try:
            self.client = GateClient(profile.base_url)
        except Exception as exc:  # a URL the settings kept but the client refuses
            log.warning("No market lists for profile %r: %s", profile.name, exc)
            return
        if painted:
            self.first_painted()

    def _show_left_armed(self, profile: Profile) -> None:
        from gui.core.armed import ArmedRecorder

        try:
            self.recorder = ArmedRecorder(profile.name, profile.base_url)
        except ValueError:  # a name the settings kept that no record can have
            return
        self._journal.set_context(profile=profile.name)
        self._left_armed.reconcile(self.recorder, [])
        for target in list(self._window.cards):
            self._window.set_orders(target, None, needs_keyring("Listing the open orders"))

    def first_painted(self) -> None:
        """The window is up: load the market lists (public, no key needed)."""
        if self.client is not None and self.profile is not None:
            self._window.picker.set_client(self.client, self.profile.base_url)

    def refusal(self, doing: str) -> str | None:
        """Why ``doing`` cannot happen while only this profile's public side is loaded."""
        return needs_keyring(doing) if self.profile is not None else None

    def clear(self) -> None:
        """The key was loaded (or the app quits): the public client is done with."""
        client, self.client, self.profile = self.client, None, None
        if client is not None:
            client.close()
