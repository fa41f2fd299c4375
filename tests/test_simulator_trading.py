"""The simulator's tickers, post-only refusals and price-triggered orders, through the client."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from gui.core.client import GateClient
from gui.core.errors import BadParameterError
from gui.core.targets import Product
from gui.simulator import Simulator
from tests.simkeys import TEST_KEY, TEST_SECRET


@pytest.fixture
def client(sim: Simulator) -> Iterator[GateClient]:
    with GateClient(sim.base_url, TEST_KEY, TEST_SECRET) as gate:
        yield gate


def test_tickers_have_a_bid_below_the_ask_on_the_price_step(client: GateClient,
                                                            sim: Simulator) -> None:
    contract = sorted(sim.exchange.markets.contracts)[0]
    for ticker, step in ((client.spot_ticker("BTC_USDT"), client.spot_rules("BTC_USDT")),
                         (client.option_ticker(contract), client.option_rules(contract)),
                         (client.futures_ticker("usdt", "ETH_USDT"),
                          client.futures_rules("usdt", "ETH_USDT"))):
        assert ticker.bid is not None and ticker.ask is not None
        assert 0 < ticker.bid < ticker.ask
        assert ticker.bid % step.price_step == 0 and ticker.ask % step.price_step == 0


@pytest.mark.parametrize(("product", "market"), [
    (Product.SPOT, "BTC_USDT"), (Product.FUTURES_USDT, "BTC_USDT"),
    (Product.FUTURES_BTC, "BTC_USD")])
def test_a_post_only_order_that_would_cross_is_refused_and_one_that_rests_rests(
        client: GateClient, sim: Simulator, product: Product, market: str) -> None:
    ticker = (client.spot_ticker(market) if product is Product.SPOT
              else client.futures_ticker(product.settle or "", market))
    assert ticker.ask is not None and ticker.bid is not None
    size = Decimal("0.001") if product is Product.SPOT else Decimal(1)
    with pytest.raises(BadParameterError) as refused:
        client.place_order(product, market, buy=True, size=size, price=ticker.ask,
                           tif="poc", order_text="t-cross")
    assert refused.value.label == "POC_FILL_IMMEDIATELY"
    assert sim.open_orders() == []
    rests = client.place_order(product, market, buy=True, size=size, price=ticker.bid,
                               tif="poc", order_text="t-rest")
    assert rests.is_open
    assert [o.id for o in client.orders_with_text(product, market, "t-rest")] == [rests.id]
    # A gtc order may cross: nothing trades here, it rests.
    assert client.place_order(product, market, buy=True, size=size, price=ticker.ask,
                              tif="gtc", order_text="t-gtc").is_open


def test_price_orders_rest_until_cancelled_and_the_countdown_leaves_them_by_default(
        client: GateClient, sim: Simulator) -> None:
    ids = [client.place_price_order(product, market, trigger_price=Decimal(1000),
                                    trigger_below=True, buy=True, size=size,
                                    price=Decimal(1000), order_text="t-po")
           for product, market, size in ((Product.SPOT, "BTC_USDT", Decimal("0.01")),
                                         (Product.FUTURES_USDT, "BTC_USDT", Decimal(1)))]
    assert [o.text for o in client.price_orders(Product.SPOT, "BTC_USDT")] == ["t-po"]
    assert [o.id for o in client.price_orders(Product.FUTURES_USDT)] == [ids[1]]
    assert client.price_orders(Product.SPOT, "ETH_USDT") == []
    assert client.cancel_price_order(Product.SPOT, ids[0]) is True
    assert client.cancel_price_order(Product.SPOT, ids[0]) is False
    assert not client.get_price_order(Product.SPOT, ids[0]).is_open
    assert client.get_price_order(Product.FUTURES_USDT, ids[1]).is_open
    assert sim.open_price_orders() == 1
