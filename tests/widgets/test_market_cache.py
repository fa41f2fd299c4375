"""MarketCache: per base URL, in memory and on disk, fresh for an hour, corrupt files ignored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gui.core.client import CurrencyPair, OptionContract, Underlying
from gui.core.market_cache import MAX_AGE_S, MarketCache, cache_dir

URL_A = "https://api.gateio.ws/api/v4"
URL_B = "http://127.0.0.1:9/api/v4"
PAIRS = [CurrencyPair("BTC_USDT", "BTC", "USDT", "tradable"),
         CurrencyPair("LUNC_USDT", "LUNC", "USDT", "untradable")]
UNDERLYINGS = [Underlying("BTC_USDT", "97000")]
CONTRACTS = [OptionContract("BTC_USDT-20261127-95000-C", "BTC_USDT", 1795766400, True, "95000")]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_cache_dir_follows_the_environment(app_dirs):
    assert cache_dir() == app_dirs["cache"]
    assert MarketCache().directory == app_dirs["cache"]


def test_round_trip_through_disk_and_freshness(tmp_path: Path):
    clock = Clock()
    cache = MarketCache(tmp_path, clock=clock)
    assert cache.spot_pairs(URL_A) is None
    cache.put_spot_pairs(URL_A, PAIRS)
    cache.put_underlyings(URL_A, UNDERLYINGS)
    cache.put_contracts(URL_A, "BTC_USDT", CONTRACTS)

    reread = MarketCache(tmp_path, clock=clock)
    pairs = reread.spot_pairs(URL_A)
    assert pairs is not None and pairs.items == PAIRS and pairs.fresh
    assert reread.underlyings(URL_A).items == UNDERLYINGS  # type: ignore[union-attr]
    assert reread.contracts(URL_A, "BTC_USDT").items == CONTRACTS  # type: ignore[union-attr]
    assert reread.contracts(URL_A, "ETH_USDT") is None
    # Each base URL has its own lists.
    assert reread.spot_pairs(URL_B) is None

    clock.now += MAX_AGE_S + 1
    stale = reread.spot_pairs(URL_A)
    assert stale is not None and not stale.fresh and stale.items == PAIRS


def test_a_copy_from_the_future_is_stale(tmp_path: Path):
    clock = Clock()
    cache = MarketCache(tmp_path, clock=clock)
    cache.put_spot_pairs(URL_A, PAIRS)
    clock.now -= 600  # the clock was set back
    assert not cache.spot_pairs(URL_A).fresh  # type: ignore[union-attr]


@pytest.mark.parametrize("content", [
    b"{not json",
    b"\xff\xfe garbage",
    b"[]",
    b'{"version": 1, "cache_key": "https://api.gateio.ws/api/v4", "lists": "no"}',
    b'{"version": 99, "cache_key": "https://api.gateio.ws/api/v4", "lists": []}',
])
def test_a_corrupt_file_is_ignored(tmp_path: Path, content: bytes):
    cache = MarketCache(tmp_path)
    cache.path_for(URL_A).write_bytes(content)
    assert cache.spot_pairs(URL_A) is None
    # And is replaced by the next good copy.
    cache.put_spot_pairs(URL_A, PAIRS)
    assert MarketCache(tmp_path).spot_pairs(URL_A).items == PAIRS  # type: ignore[union-attr]


def test_one_damaged_list_costs_only_that_list(tmp_path: Path):
    cache = MarketCache(tmp_path)
    cache.put_spot_pairs(URL_A, PAIRS)
    cache.put_underlyings(URL_A, UNDERLYINGS)
    path = cache.path_for(URL_A)
    data = json.loads(path.read_text())
    for entry in data["lists"]:
        if entry["kind"] == "spot_pairs":
            entry["items"][0]["id"] = 42
    path.write_text(json.dumps(data))
    reread = MarketCache(tmp_path)
    assert reread.spot_pairs(URL_A) is None
    assert reread.underlyings(URL_A).items == UNDERLYINGS  # type: ignore[union-attr]


def test_an_unwritable_directory_keeps_the_cache_in_memory(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = MarketCache(blocker / "cache")
    cache.put_spot_pairs(URL_A, PAIRS)
    assert cache.spot_pairs(URL_A).items == PAIRS  # type: ignore[union-attr]
