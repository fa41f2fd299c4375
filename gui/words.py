"""The words a person reads: time left, clock times, ages, targets, open orders, the overall
state, market-list errors and key access. One wording per thing, shared by every screen.

NOTE: no Qt here (a test imports this module and checks that no Qt module was loaded), so the
window, the tray, the notifications and the dialogs all read the same texts, and the terminal
front-ends may too.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from gui.core.client import (
    NO_ACCESS,
    READ_ONLY,
    READ_WRITE,
    UNKNOWN,
    CancelResult,
    KeyCheck,
    OpenOrder,
)
from gui.core.errors import GateError
from gui.core.heartbeat import State, TargetStatus
from gui.core.phrases import counted, format_left
from gui.core.targets import Product, ScopeKind, Target, TargetError, parse_contract
from gui.core.urls import LIVE_URL, TESTNET_URL

# -- counts ----------------------------------------------------------------------------------------


# -- time left and clock times ---------------------------------------------------------------------


def left_text_changes_in(left: float) -> float | None:
    """Seconds until :func:`format_left` shows something else as ``left`` runs down, or None
    once it shows 0 s for good. The text is whole seconds rounded up: it changes as ``left``
    reaches the next whole number below it."""
    whole = math.ceil(left)
    if whole <= 0:
        return None
    return left - (whole - 1)


def clock_text(ms: int | None) -> str:
    """An exchange time (ms) as a local clock time, HH:MM:SS."""
    if not ms:
        return "—"
    return time.strftime("%H:%M:%S", time.localtime(ms / 1000))


def moment_text(ms: int | None, now_s: float | None = None) -> str:
    """An exchange time (ms) as a local clock time, with the date in front when it is not
    today ("Fri 4 Dec 09:15:00"): a 24 h countdown's "09:15:00" may be tomorrow's."""
    if not ms:
        return "—"
    when = time.localtime(ms / 1000)
    today = time.localtime(time.time() if now_s is None else now_s)
    if (when.tm_year, when.tm_yday) == (today.tm_year, today.tm_yday):
        return time.strftime("%H:%M:%S", when)
    return f"{time.strftime('%a', when)} {when.tm_mday} {time.strftime('%b %H:%M:%S', when)}"


def zone_text(ms: int | None) -> str:
    """The time zone a local clock time is in, for a tooltip ("CET, UTC+01:00")."""
    if not ms:
        return ""
    local = datetime.fromtimestamp(ms / 1000).astimezone()
    offset = local.strftime("%z")
    return f"Local time: {local.tzname()}, UTC{offset[:3]}:{offset[3:]}"


def format_age(seconds: float) -> str:
    whole = int(max(0.0, seconds))
    if whole < 1:
        return "just now"
    if whole < 120:
        return f"{whole} s ago"
    return f"{whole // 60} min ago"


def age_text_changes_in(age: float) -> float:
    """Seconds until :func:`format_age` shows something else as ``age`` grows."""
    whole = int(max(0.0, age))
    if whole < 120:
        return whole + 1 - age
    return (whole // 60 + 1) * 60 - age


# -- targets ---------------------------------------------------------------------------------------


# What a futures countdown does and does not do, said wherever protection is explained: Gate
# cancels the scope's open orders; it never closes a position.
FUTURES_ORDERS_ONLY = "cancels open orders; positions stay open"


def sentence(text: str) -> str:
    """The engine's reasons are phrases made to follow "spot:BTC_USDT: "; shown on their own
    (a card, a notification) they read as sentences: a capital first letter and a full stop.
    A phrase that starts with a scope's name ("spot:BTC_USDT …") keeps it as it is."""
    text = text.strip()
    if not text:
        return text
    if text[0].islower() and not re.match(r"[a-z]+:\S", text):
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def futures_note(targets: Iterable[Target]) -> str:
    """The line to add wherever scopes are listed and one is futures, else ""."""
    if any(t.settle is not None for t in targets):
        return f"Futures: the countdown {FUTURES_ORDERS_ONLY}."
    return ""


def target_title(target: Target) -> tuple[str, str]:
    """A title and a subtitle for a target: ('BTC_USDT spot', 'One spot pair')."""
    if target.product is Product.SPOT:
        if target.is_all:
            return "All spot markets", "Every spot order, on every pair"
        return f"{target.name} spot", "One spot pair"
    if target.product.settle is not None:
        settle = target.product.settle.upper()
        # A card's subtitle has room for about 35 characters: the limit, said short.
        title = f"All {settle} futures" if target.is_all else f"{target.name} perpetual"
        return title, "Orders only; positions stay open"
    if target.is_all:
        return "All options", "Every option order, on every underlying"
    if target.kind is ScopeKind.UNDERLYING:
        return f"{target.name} options", "Every contract of this underlying"
    try:
        _underlying, expiry, strike, is_call = parse_contract(target.name)
        day = datetime.strptime(expiry, "%Y%m%d").strftime("%d %b %Y")
    except (TargetError, ValueError):
        return target.name, "One option contract"
    return target.name, f"{'Call' if is_call else 'Put'} · strike {strike} · expires {day}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_expiry(expiration_time: int) -> str:
    """An expiry as a date a person reads at a glance: ``27 Nov 2026`` (UTC, as Gate lists it).

    Month names are spelled out here rather than by ``strftime``, whose names follow the locale.
    """
    moment = datetime.fromtimestamp(expiration_time, tz=UTC)
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def time_to_expiry(expiration_time: int, now_s: float) -> str:
    """How far an expiry is, as a trader counts it: ``18 h`` within a day, else calendar days
    (UTC, as Gate's dates are), ``expired`` once past. Said, never guessed: from the two clocks.
    """
    left = expiration_time - now_s
    if left <= 0:
        return "expired"
    if left < 3600:
        return "under 1 h"
    if left < 86400:
        return f"{int(left // 3600)} h"
    days = (datetime.fromtimestamp(expiration_time, tz=UTC).date()
            - datetime.fromtimestamp(now_s, tz=UTC).date()).days
    return "1 day" if days == 1 else f"{days} days"


def expiry_label(expiration_time: int, now_s: float) -> str:
    """An expiry with its distance: ``4 Dec 2026 (1 day)``, for the option chain's sections."""
    return f"{format_expiry(expiration_time)} ({time_to_expiry(expiration_time, now_s)})"


def contract_words(name: str) -> str:
    """One contract for a screen reader: ``BTC_USDT-20261204-60000-C, call, strike 60000,
    expires 4 Dec 2026`` (the name first, as every list shows it)."""
    try:
        _underlying, expiry, strike, is_call = parse_contract(name)
    except TargetError:
        return name
    return f"{name}, {'call' if is_call else 'put'}, strike {strike}, expires {_expiry(expiry)}"


def format_number(text: str) -> str:
    """``95000`` as ``95,000``; text that is not a number is shown as it came."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return text
    if not value.is_finite():
        return text
    return f"{value:,}"


def describe_target(target: Target) -> str:
    """What a target covers, in words: the core's :meth:`Target.describe`, with a contract's
    strike, side and expiry spelled out, and a futures scope's limit said."""
    if target.settle is not None:
        return target.cancelled
    if target.kind is not ScopeKind.CONTRACT:
        return target.describe()
    underlying, expiry, strike, is_call = parse_contract(target.name)
    side = "Call" if is_call else "Put"
    return f"{underlying} {format_number(strike)} {side}, expires {_expiry(expiry)}"


def _expiry(expiry: str) -> str:
    """A contract name's expiry (``20261204``) as the app writes dates, or as it came."""
    try:
        day = datetime.strptime(expiry, "%Y%m%d").replace(tzinfo=UTC)
    except ValueError:
        return expiry
    return format_expiry(int(day.timestamp()))


# -- open orders -----------------------------------------------------------------------------------


def orders_summary(orders: Sequence[OpenOrder]) -> tuple[str, str]:
    """'3 open' and a tooltip listing them."""
    if not orders:
        return "none open", "No open orders in this scope."
    lines = [f"{o.side} {o.amount.lstrip('-')} {o.market} @ {o.price}" for o in orders[:20]]
    if len(orders) > 20:
        lines.append(f"… and {len(orders) - 20} more")
    return f"{len(orders)} open", "\n".join(lines)


# -- the overall state -----------------------------------------------------------------------------


#: overall states, loudest first; each has its own icon shape (resources/icons/<state>.svg).
#: "stopping" is the look of waiting for the exchange: a stop, or an arm not yet answered.
OVERALL_STATES = ("fired", "degraded", "stopping", "armed", "idle")


def shortest_left(statuses: Iterable[TargetStatus], now_mono: float
                  ) -> tuple[TargetStatus, float] | None:
    """The countdown that fires first and its time left, among those the exchange may still be
    counting down (beaten, stopping, or left armed by an earlier run); None when there is none."""
    found: tuple[TargetStatus, float] | None = None
    for status in statuses:
        if not (status.state.live or status.state in (State.STOPPING, State.LEFT_ARMED)):
            continue
        left = status.time_left(now_mono)
        if left is not None and (found is None or left < found[1]):
            found = status, left
    return found


def window_title(statuses: Iterable[TargetStatus], now_mono: float, stopping: bool = False,
                 demo: bool = False) -> str:
    """The window's title, which the taskbar shows: the state and the shortest time left
    first ("25 s · 3 armed — gate-killswitch"), so a glance at the taskbar tells."""
    items = list(statuses)
    state, line = overall_state(items, now_mono, stopping)
    soonest = shortest_left(items, now_mono)
    live = sum(1 for s in items if s.state.live and s.state is not State.ARMING)
    words = {"fired": "FIRED", "degraded": "PROBLEM",
             "stopping": "arming" if line.startswith("Arming") else "stopping",
             "armed": f"{live} armed", "idle": "not armed"}[state]
    if state == "degraded" and live:
        words = f"PROBLEM · {live} armed"
    parts = ([format_left(soonest[1])] if soonest else []) + [words]
    name = "gate-killswitch — demo" if demo else "gate-killswitch"
    return f"{' · '.join(parts)} — {name}"


def overall_state(statuses: Iterable[TargetStatus], now_mono: float,
                  stopping: bool = False) -> tuple[str, str]:
    """The loudest state among ``statuses`` (one of OVERALL_STATES) and a line saying it."""
    items = list(statuses)
    fired = [s for s in items if s.state is State.FIRED]
    failing = [s for s in items if s.state in (State.OVERDUE, State.DEGRADED, State.ERROR)]
    halting = [s for s in items if s.state is State.STOPPING]
    # Armed means acknowledged: a target whose first beat Gate has not answered yet is not
    # protected yet, however many were asked for.
    arming = [s for s in items if s.state is State.ARMING]
    live = [s for s in items if s.state.live and s.state is not State.ARMING]
    # Not beaten by this run, but the exchange may still be counting them down.
    left_armed = [s for s in items if s.state is State.LEFT_ARMED]
    soonest = shortest_left(items, now_mono)
    left_text = f", {format_left(soonest[1])} left" if soonest else ""
    armed_text = f"{counted(len(live), 'target')} armed{left_text}" if live else ""
    arming_text = f"{len(arming)} still arming" if arming else ""
    if arming_text:
        armed_text = f"{armed_text} · {arming_text}" if armed_text else arming_text

    def names(group: list[TargetStatus]) -> str:
        shown = ", ".join(str(s.target) for s in group[:3])
        return shown + (f" and {len(group) - 3} more" if len(group) > 3 else "")

    if left_armed:
        left_line = f"Left armed by an earlier run: {names(left_armed)}"
        armed_text = f"{armed_text} · {left_line}" if armed_text else f"{left_line}{left_text}"
    if fired:
        line = f"FIRED: {names(fired)}"
        return "fired", f"{line} · {armed_text}" if armed_text else line
    if failing or left_armed:
        words = ("Beats failing" if any(s.state is State.DEGRADED for s in failing)
                 else "No answer" if any(s.state is State.OVERDUE for s in failing)
                 else "Stopped")
        line = f"{words}: {names(failing)}" if failing else ""
        return "degraded", " · ".join(part for part in (line, armed_text) if part)
    if stopping or halting:
        return "stopping", f"Stopping… waiting for the exchange{left_text}"
    if arming:  # the in-progress look, not the armed one, until Gate has answered each
        waiting = f"Arming… waiting for the exchange to answer {counted(len(arming), 'target')}"
        return "stopping", f"{waiting} · {counted(len(live), 'target')} armed{left_text}" \
            if live else waiting
    if live:
        return "armed", f"Armed: {counted(len(live), 'target')}{left_text}"
    return "idle", "Not armed"


MODES = ("arm", "stop", "stopping")  # what the big button says


class Overview:
    """The statuses a view of the overall state keeps (the tray, the compact strip): each takes
    them from the adapter itself and works the state out as the window's header does.

    No Qt: the views set their own timer for :meth:`state`'s third value, the seconds until
    the line's text next changes (None: it does not change by itself).
    """

    def __init__(self) -> None:
        self.statuses: dict[Target, TargetStatus] = {}
        self.mode = "arm"

    def update(self, status: TargetStatus) -> bool:
        """Keep a target's new status; an idle one not seen before is none of the view's
        business. True when it was kept."""
        if status.target in self.statuses or status.state is not State.IDLE:
            self.statuses[status.target] = status
            return True
        return False

    def forget(self, target: Target) -> bool:
        """The target's card was dismissed or replaced; True when it was kept."""
        return self.statuses.pop(target, None) is not None

    def set_mode(self, mode: str) -> bool:
        """The big button's mode; True when it changed."""
        if mode not in MODES:
            raise ValueError(mode)
        changed, self.mode = mode != self.mode, mode
        return changed

    def state(self, now_mono: float) -> tuple[str, str, float | None]:
        """The overall state, its line, and the seconds until that line next changes (the
        soonest time left turns its whole second)."""
        statuses = list(self.statuses.values())
        state, line = overall_state(statuses, now_mono, self.mode == "stopping")
        lefts = [left for s in statuses if (left := s.time_left(now_mono)) is not None]
        return state, line, left_text_changes_in(min(lefts)) if lefts else None


# -- market lists ----------------------------------------------------------------------------------


def list_error_text(exc: GateError) -> str:
    """What went wrong and what to do, for a list load.

    ``str(exc)`` ends with the engine's advice, which for a transient failure says "retrying":
    true for heartbeats, not for a list, which is retried by the Retry button beside the message.
    """
    if not exc.retryable:
        return str(exc)
    head = f"{exc.label}: " if exc.label else ""
    return f"{head}{exc.message} Press Retry to try again.".strip()


def hour_minute(unix_seconds: float) -> str:
    return datetime.fromtimestamp(unix_seconds).strftime("%H:%M")


# -- keys ------------------------------------------------------------------------------------------


_ACCESS_WORDS = {READ_WRITE: "read-write", READ_ONLY: "read-only", NO_ACCESS: "no access",
                 UNKNOWN: "unknown"}


def access_in_words(access: str) -> str:
    """``read-write``, ``read-only``, ``no access`` or ``unknown``."""
    return _ACCESS_WORDS.get(access, access)


def endpoint_label(base_url: str) -> str:
    if base_url == LIVE_URL:
        return "Live"
    if base_url == TESTNET_URL:
        return "TestNet"
    return base_url


def keyless_profile_text(name: str, base_url: str) -> str:
    """The header's profile line when the profile's key could not be read from the keyring:
    which profile and exchange, and that its key is not loaded."""
    return f"Profile: {name} · {endpoint_label(base_url)} · key not loaded (keyring)"


def needs_keyring(doing: str) -> str:
    """Why ``doing`` (arming, cancelling) is refused while the keyring cannot be read."""
    return (f"{doing} needs the API key, and the OS keyring that holds it cannot be read "
            "(see 'Keys not loaded').")


def describe_check(check: KeyCheck) -> str:
    lines = []
    for product, name, access in (("spot", "Spot", check.spot),
                                  ("options", "Options", check.options),
                                  ("futures usdt", "USDT futures", check.futures_usdt),
                                  ("futures btc", "BTC futures", check.futures_btc)):
        detail = check.details.get(product, "")
        lines.append(f"{name}: {access_in_words(access)}"
                     + (f" ({detail})" if detail else ""))
    if not all(check.can_arm.values()):
        lines.append("The kill switch needs read-write access for each product it protects.")
    return "\n".join(lines)


# -- what a stop and a cancel-now did ----------------------------------------------------------


def stop_report(results: dict[Target, bool], states: dict[Target, State],
                reasons: dict[Target, str]) -> list[tuple[str, str, str, str]]:
    """What a STOP did, as notices (level, title, text, key): the targets whose countdown ran
    out before the stop was confirmed (FIRED), those whose stop was not confirmed, or that every
    countdown is off."""
    unconfirmed = [t for t, ok in results.items() if not ok]
    fired = [t for t in unconfirmed if states.get(t) is State.FIRED]
    unconfirmed = [t for t in unconfirmed if t not in fired]
    notices = []
    if fired:
        # Said apart from "not confirmed": these countdowns ran out, their cards stay FIRED.
        notices.append(("critical", "FIRED before the stop was confirmed",
                        "The countdown ran out before the exchange confirmed the stop; it "
                        "cancelled the open orders of " + ", ".join(map(str, fired))
                        + ("; positions stay open" if any(t.settle for t in fired) else ""),
                        "stop-fired"))
    if unconfirmed:
        details = [f"{t}: {reasons.get(t) or 'not confirmed'}" for t in unconfirmed]
        notices.append(("critical", "Stop NOT confirmed",
                        "Could not confirm the stop of " + "; ".join(details), "stop"))
    elif results and not fired:
        names = ", ".join(str(t) for t in results)
        notices.append(("info", "Stopped",
                        f"The exchange confirmed every countdown is off ({names}).", "stop"))
    return notices


def cancel_now_report(results: Mapping[Target, Sequence[CancelResult] | GateError]
                      ) -> tuple[str, str, str]:
    """What a cancel-now did (level, title, text): per scope, how many orders were cancelled."""
    parts, failed = [], False
    for target, outcome in results.items():
        if isinstance(outcome, GateError):
            failed = True
            parts.append(f"{target}: failed: {outcome}")
        elif not outcome:
            parts.append(f"{target}: no open orders")
        else:
            done = sum(1 for r in outcome if r.succeeded)
            parts.append(f"{target}: cancelled {done} of {len(outcome)}")
            failed = failed or done < len(outcome)
    title = "Cancel now: some orders were NOT cancelled" if failed else "Orders cancelled"
    return ("critical" if failed else "info", title,
            "; ".join(parts) + ". The countdowns were not changed.")
