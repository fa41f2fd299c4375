"""Market lists (spot pairs, option underlyings, contracts per underlying), cached per base URL.

The lists come from public endpoints and change rarely, so a copy younger than an hour is used
as it is, and an older one is still shown while a reload runs (a person can start picking at
once, and a failed reload leaves them with a usable list). Copies live in memory and on disk,
one JSON file per base URL under ``platformdirs.user_cache_dir("gate-killswitch")`` (or
``$GATE_KILLSWITCH_CACHE_DIR``, or the directory handed to :class:`MarketCache`). A file that
cannot be read or parsed is ignored as if it were missing: a cache must never stop the app.

No Qt here and no secrets: nothing cached needs a key. Disk access is small but blocking, so
the Qt layer calls :meth:`MarketCache.get` and :meth:`MarketCache.put` through ``in_thread``;
a lock makes that safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import platformdirs

from gui.core.client import CurrencyPair, OptionContract, Underlying
from gui.core.futures import FuturesContract

__all__ = [
    "CACHE_DIR_ENV",
    "MAX_AGE_S",
    "CachedList",
    "MarketCache",
    "MarketKind",
    "cache_dir",
]

log = logging.getLogger(__name__)

APP_NAME = "gate-killswitch"
CACHE_DIR_ENV = "GATE_KILLSWITCH_CACHE_DIR"
MAX_AGE_S = 3600.0
FORMAT_VERSION = 1

T = TypeVar("T")

# What is cached: (list kind, underlying or settle currency, or "" for the lists with none).
MarketKind = tuple[str, str]
SPOT_PAIRS = "spot_pairs"
UNDERLYINGS = "underlyings"
CONTRACTS = "contracts"
FUTURES_CONTRACTS = "futures_contracts"


def cache_dir() -> Path:
    """Where market lists are cached: ``$GATE_KILLSWITCH_CACHE_DIR`` or the platform's."""
    override = os.environ.get(CACHE_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class CachedList(Generic[T]):
    """One cached list and how old it is."""

    items: list[T]
    fetched_at: float  # Unix seconds
    fresh: bool  # younger than the cache's max age: no reload needed


# -- (de)serialising the client's result types; anything unexpected means "not cached" ----------

def _pair_to_json(pair: CurrencyPair) -> dict[str, Any]:
    return {"id": pair.id, "base": pair.base, "quote": pair.quote,
            "trade_status": pair.trade_status}


def _pair_from_json(raw: Any) -> CurrencyPair:
    return CurrencyPair(id=_str(raw, "id"), base=_str(raw, "base"), quote=_str(raw, "quote"),
                        trade_status=_str(raw, "trade_status"))


def _underlying_to_json(underlying: Underlying) -> dict[str, Any]:
    return {"name": underlying.name, "index_price": underlying.index_price}


def _underlying_from_json(raw: Any) -> Underlying:
    return Underlying(name=_str(raw, "name"), index_price=_str(raw, "index_price"))


def _contract_to_json(contract: OptionContract) -> dict[str, Any]:
    return {"name": contract.name, "underlying": contract.underlying,
            "expiration_time": contract.expiration_time, "is_call": contract.is_call,
            "strike": contract.strike}


def _contract_from_json(raw: Any) -> OptionContract:
    expiry = raw.get("expiration_time") if isinstance(raw, dict) else None
    is_call = raw.get("is_call") if isinstance(raw, dict) else None
    if isinstance(expiry, bool) or not isinstance(expiry, int) or not isinstance(is_call, bool):
        raise ValueError("bad contract")
    return OptionContract(name=_str(raw, "name"), underlying=_str(raw, "underlying"),
                          expiration_time=expiry, is_call=is_call, strike=_str(raw, "strike"))


def _futures_to_json(contract: FuturesContract) -> dict[str, Any]:
    return {"name": contract.name, "settle": contract.settle, "type": contract.type,
            "status": contract.status, "in_delisting": contract.in_delisting,
            "multiplier": contract.multiplier}


def _futures_from_json(raw: Any) -> FuturesContract:
    delisting = raw.get("in_delisting") if isinstance(raw, dict) else None
    if not isinstance(delisting, bool):
        raise ValueError("bad futures contract")
    return FuturesContract(name=_str(raw, "name"), settle=_str(raw, "settle"),
                           type=_str(raw, "type"), status=_str(raw, "status"),
                           in_delisting=delisting, multiplier=_str(raw, "multiplier"))


def _str(raw: Any, key: str) -> str:
    value = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    return value


_CODECS: dict[str, tuple[Callable[[Any], dict[str, Any]], Callable[[Any], Any]]] = {
    SPOT_PAIRS: (_pair_to_json, _pair_from_json),
    UNDERLYINGS: (_underlying_to_json, _underlying_from_json),
    CONTRACTS: (_contract_to_json, _contract_from_json),
    FUTURES_CONTRACTS: (_futures_to_json, _futures_from_json),
}


@dataclass
class _Entry:
    items: list[Any]
    fetched_at: float


class MarketCache:
    """Market lists per base URL (the ``cache_key``), in memory and on disk.

    ``directory`` defaults to :func:`cache_dir`, resolved on use so a test's environment applies.
    ``clock`` gives Unix seconds (injected so tests can age the cache).
    """

    def __init__(self, directory: Path | None = None, *, max_age: float = MAX_AGE_S,
                 clock: Callable[[], float] = time.time) -> None:
        self._dir_override = Path(directory) if directory is not None else None
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        # cache_key -> kind -> entry; a cache_key present here has had its file read already.
        self._memory: dict[str, dict[MarketKind, _Entry]] = {}

    @property
    def directory(self) -> Path:
        return self._dir_override if self._dir_override is not None else cache_dir()

    def path_for(self, cache_key: str) -> Path:
        # A hash, not the URL: a URL is not a file name on every platform.
        digest = hashlib.sha256(cache_key.encode("utf-8")).hexdigest()[:24]
        return self.directory / f"markets-{digest}.json"

    # -- public API ------------------------------------------------------------------------------

    def spot_pairs(self, cache_key: str) -> CachedList[CurrencyPair] | None:
        return self.get(cache_key, (SPOT_PAIRS, ""))

    def put_spot_pairs(self, cache_key: str, pairs: list[CurrencyPair]) -> None:
        self.put(cache_key, (SPOT_PAIRS, ""), pairs)

    def underlyings(self, cache_key: str) -> CachedList[Underlying] | None:
        return self.get(cache_key, (UNDERLYINGS, ""))

    def put_underlyings(self, cache_key: str, underlyings: list[Underlying]) -> None:
        self.put(cache_key, (UNDERLYINGS, ""), underlyings)

    def contracts(self, cache_key: str, underlying: str) -> CachedList[OptionContract] | None:
        return self.get(cache_key, (CONTRACTS, underlying))

    def put_contracts(self, cache_key: str, underlying: str,
                      contracts: list[OptionContract]) -> None:
        self.put(cache_key, (CONTRACTS, underlying), contracts)

    def get(self, cache_key: str, kind: MarketKind) -> CachedList[Any] | None:
        """The cached list, fresh or stale, or None if there is none."""
        with self._lock:
            entry = self._entries(cache_key).get(kind)
            if entry is None:
                return None
            age = self._clock() - entry.fetched_at
            # A copy "from the future" (clock set back) is treated as stale, not as fresh forever.
            fresh = 0 <= age < self.max_age
            return CachedList(list(entry.items), entry.fetched_at, fresh)

    def put(self, cache_key: str, kind: MarketKind, items: list[Any]) -> None:
        """Remember a list just fetched; the disk copy is best effort."""
        with self._lock:
            entries = self._entries(cache_key)
            entries[kind] = _Entry(list(items), self._clock())
            try:
                self._write(cache_key, entries)
            except (OSError, ValueError, TypeError) as exc:
                log.info("Could not write the market cache %s (%s); keeping it in memory.",
                         self.path_for(cache_key), type(exc).__name__)

    # -- disk ------------------------------------------------------------------------------------

    def _entries(self, cache_key: str) -> dict[MarketKind, _Entry]:
        entries = self._memory.get(cache_key)
        if entries is None:
            entries = self._read(cache_key)
            self._memory[cache_key] = entries
        return entries

    def _read(self, cache_key: str) -> dict[MarketKind, _Entry]:
        path = self.path_for(cache_key)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.info("Ignoring the unreadable market cache %s (%s).", path, type(exc).__name__)
            return {}
        if (not isinstance(raw, dict) or raw.get("version") != FORMAT_VERSION
                or raw.get("cache_key") != cache_key or not isinstance(raw.get("lists"), list)):
            log.info("Ignoring the market cache %s: not in this version's format.", path)
            return {}
        entries: dict[MarketKind, _Entry] = {}
        for item in raw["lists"]:
            # One bad list costs only that list.
            try:
                kind_name, underlying = item["kind"], item["underlying"]
                fetched_at = item["fetched_at"]
                _, decode = _CODECS[kind_name]
                if not isinstance(underlying, str) or isinstance(fetched_at, bool) or \
                        not isinstance(fetched_at, int | float):
                    raise ValueError("bad list header")
                if not isinstance(item["items"], list):
                    raise ValueError("items is not a list")
                decoded = [decode(x) for x in item["items"]]
            except (KeyError, TypeError, ValueError):
                log.info("Ignoring a damaged list in the market cache %s.", path)
                continue
            entries[(kind_name, underlying)] = _Entry(decoded, float(fetched_at))
        return entries

    def _write(self, cache_key: str, entries: dict[MarketKind, _Entry]) -> None:
        lists = []
        for (kind_name, underlying), entry in sorted(entries.items()):
            encode, _ = _CODECS[kind_name]
            lists.append({"kind": kind_name, "underlying": underlying,
                          "fetched_at": entry.fetched_at,
                          "items": [encode(x) for x in entry.items]})
        data = json.dumps({"version": FORMAT_VERSION, "cache_key": cache_key, "lists": lists},
                          separators=(",", ":"))
        directory = self.directory
        directory.mkdir(parents=True, exist_ok=True)
        # Temporary file and rename: a crash mid-write leaves the old copy, never half a file.
        fd, tmp_name = tempfile.mkstemp(prefix=".markets-", suffix=".tmp", dir=directory)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data)
            os.replace(tmp, self.path_for(cache_key))
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
