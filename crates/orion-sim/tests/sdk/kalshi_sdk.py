"""Kalshi's official Python SDK (kalshi_python_sync 3.34.0) against orion-sim.

Lists markets, reads a book, places and cancels an order and reads the
balance, with the SDK's own request signing. Environment:
ORION_SIM_KALSHI_REST, KALSHI_KEY_ID, KALSHI_PRIVATE_KEY_FILE.
Exits non-zero on the first mismatch.
"""

import json
import os
import sys
import urllib.request
import uuid

import kalshi_python_sync
from kalshi_python_sync import Configuration, KalshiClient

TICKER = os.environ.get("KALSHI_TICKER", "KXFEDDECISION-26DEC-C25")


def main() -> int:
    config = Configuration(host=os.environ["ORION_SIM_KALSHI_REST"])
    config.api_key_id = os.environ["KALSHI_KEY_ID"]
    with open(os.environ["KALSHI_PRIVATE_KEY_FILE"], encoding="ascii") as f:
        config.private_key_pem = f.read()
    client = KalshiClient(config)

    status = client.get_exchange_status()
    assert status.exchange_active and status.trading_active, status

    # Paged listing: limit honoured, cursor present on every page.
    first = client.get_markets(limit=2)
    assert len(first.markets) == 2, first
    assert first.cursor, "first page must carry a cursor"
    rest = client.get_markets(limit=2, cursor=first.cursor)
    assert rest.cursor == "", rest.cursor
    tickers = [m.ticker for m in first.markets + rest.markets]
    assert TICKER in tickers, tickers
    market = client.get_market(TICKER).market
    assert market.settlement_bounds_type == "default"
    print(f"kalshi: {len(tickers)} markets; {TICKER} yes {market.yes_bid_dollars}/{market.yes_ask_dollars}")

    events = client.get_events(with_nested_markets=True)
    assert events.events and events.cursor == "", events
    event = client.get_event(market.event_ticker)
    series = client.get_series(event.event.series_ticker).series
    assert series.fee_type in ("quadratic", "quadratic_with_maker_fees", "flat"), series
    print(f"kalshi: event {event.event.title!r}, series fee {series.fee_type} x{series.fee_multiplier}")

    book = client.get_market_orderbook(TICKER).orderbook_fp
    assert book.yes_dollars and book.no_dollars, book
    best_yes_bid = max(book.yes_dollars, key=lambda lvl: lvl[0])
    print(f"kalshi: orderbook best YES bid {best_yes_bid}")

    before = client.get_balance()
    assert before.balance_dollars, before

    cid = str(uuid.uuid4())
    created = client.create_order_v2(
        ticker=TICKER,
        client_order_id=cid,
        side="bid",
        count="3.00",
        price="0.30",
        time_in_force="good_till_canceled",
        self_trade_prevention_type="taker_at_cross",
    )
    assert created is not None, "create_order_v2 must get HTTP 201"
    assert created.client_order_id == cid and created.remaining_count == "3.00", created
    orders = client.get_orders(ticker=TICKER, status="resting")
    assert any(o.order_id == created.order_id for o in orders.orders), orders

    canceled = client.cancel_order_v2(created.order_id, market_ticker=TICKER)
    assert canceled.reduced_by == "3.00", canceled

    # A crossing IOC fills and reports its fee.
    filled = client.create_order_v2(
        ticker=TICKER,
        client_order_id=str(uuid.uuid4()),
        side="bid",
        count="2.00",
        price="0.99",
        time_in_force="immediate_or_cancel",
        self_trade_prevention_type="taker_at_cross",
    )
    assert filled.fill_count == "2.00", filled
    fills = client.get_fills(order_id=filled.order_id)
    assert fills.fills and all(f.fee_cost for f in fills.fills), fills

    after = client.get_balance()
    assert after.balance < before.balance, (before, after)
    positions = client.get_positions(ticker=TICKER)
    assert positions.market_positions[0].position_fp == "2.00", positions
    print(f"kalshi: balance {before.balance_dollars} -> {after.balance_dollars}; order placed, cancelled, filled")

    # Resolve the market through the simulator's admin endpoint, then read
    # the settlement back through the SDK's own model.
    admin = os.environ["ORION_SIM_KALSHI_REST"].removesuffix("/trade-api/v2")
    req = urllib.request.Request(
        f"{admin}/_sim/resolve",
        data=json.dumps({"market": TICKER, "result": "yes"}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
    settled = client.get_settlements().settlements
    assert settled and settled[0].ticker == TICKER and settled[0].market_result == "yes", settled
    assert client.get_market(TICKER).market.status == "finalized"
    print(f"kalshi: settled {TICKER}: revenue {settled[0].revenue} cents")
    print(f"kalshi_python_sync {kalshi_python_sync.__version__}: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
