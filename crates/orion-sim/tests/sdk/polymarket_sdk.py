"""Polymarket's official py-clob-client-v2 (1.2.1) against orion-sim.

Derives API credentials (L1), reads a book, posts a signed V2 order (L2 +
EIP-712) and cancels it. Environment: ORION_SIM_POLYMARKET_CLOB,
POLY_PRIVATE_KEY, POLY_TOKEN_ID. Exits non-zero on the first mismatch.
"""

import os
import sys

from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import (
    AssetType,
    BalanceAllowanceParams,
    MarketOrderArgsV2,
    OrderArgsV2,
    OrderPayload,
    OrderType,
)


def main() -> int:
    host = os.environ["ORION_SIM_POLYMARKET_CLOB"]
    token = os.environ["POLY_TOKEN_ID"]
    client = ClobClient(host, chain_id=137, key=os.environ["POLY_PRIVATE_KEY"])

    assert client.get_ok() == "OK"
    assert client.get_version() == 2

    creds = client.create_or_derive_api_key()
    again = client.derive_api_key()
    assert (creds.api_key, creds.api_secret, creds.api_passphrase) == (
        again.api_key,
        again.api_secret,
        again.api_passphrase,
    ), "same nonce must give the same credentials"
    client.set_api_creds(creds)
    print(f"polymarket: api key {creds.api_key}")

    book = client.get_order_book(token)
    assert book["bids"] and book["asks"], book
    best_bid = book["bids"][-1]["price"]
    best_ask = book["asks"][-1]["price"]
    assert float(best_bid) < float(best_ask), (best_bid, best_ask)
    print(f"polymarket: book {best_bid} / {best_ask}, tick {client.get_tick_size(token)}")

    resp = client.create_and_post_order(
        OrderArgsV2(token_id=token, price=0.30, size=10, side="BUY"),
        order_type=OrderType.GTC,
    )
    assert resp.get("success") is True and resp.get("status") == "live", resp
    order_id = resp["orderID"]
    open_orders = client.get_open_orders()
    assert any(o["id"] == order_id for o in open_orders), open_orders

    canceled = client.cancel_order(OrderPayload(orderID=order_id))
    assert canceled["canceled"] == [order_id], canceled
    print(f"polymarket: order {order_id[:18]}… posted and cancelled")

    # Listings page with next_cursor until LTE=.
    page = client.get_markets()
    seen = len(page["data"])
    while page["next_cursor"] != "LTE=":
        page = client.get_markets(next_cursor=page["next_cursor"])
        seen += len(page["data"])
    assert seen >= 1
    assert client.get_midpoint(token)["mid"]

    # A market-style FOK buy for $5: the client computes the amounts
    # (pUSD at 2 dp, shares at 4 dp) and the simulator must accept them.
    before = int(client.get_balance_allowance(BalanceAllowanceParams(asset_type=AssetType.COLLATERAL))["balance"])
    fok = client.create_and_post_market_order(
        MarketOrderArgsV2(token_id=token, amount=5, side="BUY"),
        order_type=OrderType.FOK,
    )
    assert fok.get("success") is True and fok.get("status") == "matched", fok
    after = int(client.get_balance_allowance(BalanceAllowanceParams(asset_type=AssetType.COLLATERAL))["balance"])
    assert before - after >= 5_000_000, (before, after)
    trades = client.get_trades()
    assert any(t["taker_order_id"] == fok["orderID"] for t in trades), trades
    held = client.get_balance_allowance(BalanceAllowanceParams(asset_type=AssetType.CONDITIONAL, token_id=token))
    print(f"polymarket: {seen} markets; FOK market buy filled, holding {held['balance']} token units")
    print("py-clob-client-v2: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
