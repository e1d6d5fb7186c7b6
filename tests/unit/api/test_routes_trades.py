"""Trade routes on a real bot: force entry -> status -> force exit -> history, profit views, paging."""

from __future__ import annotations

import pytest

from tradecast.api.serializers import fmt_date

from .conftest import RestHarness


async def test_trade_lifecycle_and_profit_views_agree(rest: RestHarness) -> None:
    client, bot = rest.client, rest.bot
    assert (await client.get("/api/v1/status")).json() == []

    entered = await rest.enter("BTC/USDT", entry_tag="manual")
    trade_id = entered["trade_id"]
    assert entered["pair"] == "BTC/USDT" and entered["is_open"] is True and entered["enter_tag"] == "manual"
    ticker = await bot.market.fetch_ticker("BTC/USDT")
    assert entered["open_rate"] == pytest.approx(ticker.ask)
    assert entered["open_date"] == fmt_date(rest.clock.now())
    assert entered["open_timestamp"] == int(rest.clock.now().timestamp() * 1000)
    assert entered["timeframe"] == 5 and entered["orders"][0]["ft_order_side"] == "buy"

    rest.clock.advance(3600)
    status = (await client.get("/api/v1/status")).json()
    assert [t["trade_id"] for t in status] == [trade_id]
    row = status[0]
    bid = (await bot.market.fetch_ticker("BTC/USDT")).bid
    trade = bot.engine.open_trades[trade_id]
    assert row["current_rate"] == pytest.approx(bid)
    assert row["profit_abs"] == pytest.approx(trade.profit_abs(bid))
    assert row["profit_ratio"] == pytest.approx(trade.profit_ratio(bid))
    assert row["profit_pct"] == round(trade.profit_ratio(bid) * 100, 2)
    assert (await client.get("/api/v1/count")).json() == {
        "current": 1, "max": 3, "total_stake": pytest.approx(trade.stake_amount)}

    # the open trade counts in profit_all but not in profit_closed
    profit_open = (await client.get("/api/v1/profit")).json()
    assert profit_open["trade_count"] == 1 and profit_open["closed_trade_count"] == 0
    assert profit_open["profit_closed_coin"] == 0
    assert profit_open["profit_all_coin"] == pytest.approx(trade.profit_abs(bid))

    await rest.exit(trade_id)
    assert (await client.get("/api/v1/status")).json() == []
    history = (await client.get("/api/v1/trades")).json()
    assert history["total_trades"] == 1 and history["trades_count"] == 1 and history["offset"] == 0
    closed = history["trades"][0]
    assert closed["trade_id"] == trade_id and closed["is_open"] is False
    assert closed["exit_reason"] == "force_exit" and closed["close_rate"] == pytest.approx(bid)
    assert closed["trade_duration_s"] == 3600 and closed["trade_duration"] == 60
    assert [o["ft_order_side"] for o in closed["orders"]] == ["buy", "sell"]
    profit_abs, ratio = closed["close_profit_abs"], closed["close_profit"]
    expected = trade.amount * bid * (1 - trade.fee_close) - trade.open_trade_value
    assert profit_abs == pytest.approx(expected)

    balance_curve = (await client.get("/api/v1/historic_balance")).json()
    assert balance_curve["columns"] == ["date", "__date_ts", "total_quote"]
    assert balance_curve["length"] == len(balance_curve["data"]) == 2  # bot start, then after the one close
    start_row, closed_row = balance_curve["data"]
    assert start_row[2] == bot.config.dry_run_wallet
    assert closed_row[2] == pytest.approx(bot.config.dry_run_wallet + profit_abs)
    assert closed_row[1] == int(rest.clock.now().timestamp() * 1000)

    profit = (await client.get("/api/v1/profit")).json()
    assert profit["closed_trade_count"] == 1 and profit["trade_count"] == 1
    assert profit["profit_closed_coin"] == pytest.approx(profit_abs)
    assert profit["profit_all_coin"] == pytest.approx(profit_abs)
    assert profit["profit_closed_ratio_mean"] == pytest.approx(ratio)
    assert profit["profit_closed_ratio"] == pytest.approx(profit_abs / 1000)
    assert profit["profit_closed_percent"] == round(profit_abs / 1000 * 100, 2)
    assert profit["best_pair"] == "BTC/USDT" and profit["best_pair_profit_ratio"] == pytest.approx(ratio)
    assert profit["winning_trades"] + profit["losing_trades"] == 1
    assert profit["avg_duration"] == "1:00:00"
    assert profit["first_trade_timestamp"] == entered["open_timestamp"]
    assert profit["bot_start_timestamp"] == int(bot.started_at.timestamp() * 1000)
    if profit_abs < 0:
        assert profit["profit_factor"] == 0 and profit["winrate"] == 0
        assert profit["expectancy"] == pytest.approx(profit_abs)
    else:
        assert profit["profit_factor"] is None  # inf -> null
        assert profit["winrate"] == 1

    assert (await client.get("/api/v1/profit_all")).json()["all"] == profit

    perf = (await client.get("/api/v1/performance")).json()
    assert perf == [{"pair": "BTC/USDT", "profit": round(ratio * 100, 2), "profit_ratio": pytest.approx(ratio),
                     "profit_pct": round(ratio * 100, 2), "profit_abs": pytest.approx(profit_abs), "count": 1}]

    daily = (await client.get("/api/v1/daily", params={"timescale": 3})).json()
    assert daily["stake_currency"] == "USDT" and len(daily["data"]) == 3
    today = daily["data"][0]
    assert today["date"] == rest.clock.now().date().isoformat()
    assert today["abs_profit"] == pytest.approx(profit_abs) and today["trade_count"] == 1
    assert today["starting_balance"] == pytest.approx(1000)
    assert today["rel_profit"] == pytest.approx(profit_abs / 1000, abs=1e-8)
    assert daily["data"][1]["trade_count"] == 0 and daily["data"][1]["starting_balance"] == pytest.approx(1000)
    weekly = (await client.get("/api/v1/weekly")).json()["data"]
    monthly = (await client.get("/api/v1/monthly")).json()["data"]
    assert len(weekly) == 4 and weekly[0]["abs_profit"] == pytest.approx(profit_abs)
    assert len(monthly) == 3 and monthly[0]["date"] == "2026-03-01" and monthly[0]["trade_count"] == 1

    stats = (await client.get("/api/v1/stats")).json()
    outcome = "wins" if profit_abs > 0 else "losses"
    assert stats["exit_reasons"]["force_exit"][outcome] == 1
    assert stats["durations"][outcome] == pytest.approx(3600)
    assert stats["durations"]["draws"] is None

    entries = (await client.get("/api/v1/entries")).json()
    exits = (await client.get("/api/v1/exits", params={"pair": "BTC/USDT"})).json()
    mix = (await client.get("/api/v1/mix_tags")).json()
    assert entries[0]["enter_tag"] == "manual" and entries[0]["count"] == 1
    assert exits[0]["exit_reason"] == "force_exit" and exits[0]["profit_abs"] == pytest.approx(profit_abs)
    assert mix[0]["mix_tag"] == "manual force_exit"
    assert (await client.get("/api/v1/exits", params={"pair": "ETH/USDT"})).json() == []

    one = (await client.get(f"/api/v1/trade/{trade_id}")).json()
    assert one["trade_id"] == trade_id and one["close_profit_abs"] == pytest.approx(profit_abs)


async def test_balance_reconciles_with_engine_wallet(rest: RestHarness) -> None:
    client, engine = rest.client, rest.bot.engine
    empty = (await client.get("/api/v1/balance")).json()
    assert [c["currency"] for c in empty["currencies"]] == ["USDT"]
    assert empty["total"] == pytest.approx(1000) and empty["starting_capital"] == 1000
    assert empty["note"] == "Simulated balances"

    await rest.enter("BTC/USDT")
    await rest.enter("ETH/USDT", stakeamount=50)
    balance = (await client.get("/api/v1/balance")).json()
    wallet = engine.wallet()
    rows = {row["currency"]: row for row in balance["currencies"]}
    assert set(rows) == {"USDT", "BTC", "ETH"}
    assert rows["USDT"]["free"] == pytest.approx(wallet.free)
    filled_value = sum(t.open_trade_value for t in engine.open_trades.values())
    assert rows["USDT"]["balance"] + filled_value == pytest.approx(wallet.total)
    for trade in engine.open_trades.values():
        bid = (await rest.bot.market.fetch_ticker(trade.pair)).bid
        assert rows[trade.base_currency]["balance"] == pytest.approx(trade.amount)
        assert rows[trade.base_currency]["est_stake"] == pytest.approx(trade.amount * bid)
    assert balance["total"] == pytest.approx(sum(r["est_stake"] for r in rows.values()))
    assert balance["starting_capital_ratio"] == pytest.approx(balance["total"] / 1000 - 1)


async def test_trades_paging_terminates_and_matches_total(rest: RestHarness) -> None:
    pairs = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    for round_ in range(3):
        for pair in pairs:
            trade = await rest.enter(pair)
            rest.clock.advance(60)
            await rest.exit(trade["trade_id"])
        rest.clock.advance(600 * (round_ + 1))
    open_trade = await rest.enter("BTC/USDT")  # open trades are not part of the history

    seen: list[int] = []
    offset = 0
    for _ in range(20):
        page = (await rest.client.get("/api/v1/trades", params={"limit": 4, "offset": offset})).json()
        seen += [t["trade_id"] for t in page["trades"]]
        offset += page["trades_count"]
        if len(seen) >= page["total_trades"]:
            break
    assert len(seen) == page["total_trades"] == 9
    assert seen == sorted(seen) and open_trade["trade_id"] not in seen
    newest_first = (await rest.client.get("/api/v1/trades", params={"order_by_id": "false"})).json()
    closes = [t["close_timestamp"] for t in newest_first["trades"]]
    assert closes == sorted(closes, reverse=True) and newest_first["total_trades"] == 9
    beyond = (await rest.client.get("/api/v1/trades", params={"offset": 50})).json()
    assert beyond["trades"] == [] and beyond["total_trades"] == 9


async def test_trade_not_found_delete_and_open_order(rest: RestHarness) -> None:
    client = rest.client
    missing = await client.get("/api/v1/trade/999")
    assert missing.status_code == 404 and missing.json() == {"detail": "Trade not found."}

    closed = await rest.enter("SOL/USDT")
    await rest.exit(closed["trade_id"])
    deleted = (await client.delete(f"/api/v1/trades/{closed['trade_id']}")).json()
    assert deleted == {"result": "success", "trade_id": closed["trade_id"],
                       "result_msg": f"Deleted trade {closed['trade_id']}. Closed 0 open orders.",
                       "cancel_order_count": 0}
    assert await rest.trade_count() == 0
    assert rest.bot.engine.closed_profit == pytest.approx(0)

    # a limit order far below the market stays open
    bid = (await rest.bot.market.fetch_ticker("ETH/USDT")).bid
    pending = await rest.enter("ETH/USDT", ordertype="limit", price=round(bid * 0.5, 2))
    assert pending["has_open_orders"] is True and pending["orders"][0]["is_open"] is True
    balance = (await client.get("/api/v1/balance")).json()
    usdt = balance["currencies"][0]
    assert usdt["used"] == pytest.approx(rest.bot.engine.open_trades[pending["trade_id"]].open_trade_value)
    cancelled = await client.delete(f"/api/v1/trades/{pending['trade_id']}/open-order")
    assert cancelled.status_code == 200 and cancelled.json()["trade_id"] == pending["trade_id"]
    assert rest.bot.engine.open_trades == {}  # an unfilled entry takes its trade with it
    again = await client.delete(f"/api/v1/trades/{pending['trade_id']}/open-order")
    assert again.status_code == 502 and "no open trade" in again.json()["error"]
    gone = await client.delete("/api/v1/trades/12345")
    assert gone.status_code == 502 and "no trade with id 12345" in gone.json()["error"]


async def test_reload_trade_and_custom_data(rest: RestHarness) -> None:
    client, bot = rest.client, rest.bot
    trade = await rest.enter("BTC/USDT")
    reloaded = await client.post(f"/api/v1/trades/{trade['trade_id']}/reload")
    assert reloaded.status_code == 200 and reloaded.json()["trade_id"] == trade["trade_id"]
    assert (await client.post("/api/v1/trades/77/reload")).status_code == 502

    none_yet = await client.get(f"/api/v1/trades/{trade['trade_id']}/custom-data")
    assert none_yet.status_code == 404 and "No custom-data" in none_yet.json()["detail"]
    await bot.db.run(bot.repo.set_custom_data, trade["trade_id"], "note", {"a": 1})
    await bot.db.run(bot.repo.set_custom_data, trade["trade_id"], "level", 3)
    data = (await client.get(f"/api/v1/trades/{trade['trade_id']}/custom-data")).json()
    assert data[0]["trade_id"] == trade["trade_id"]
    assert {row["key"]: row["value"] for row in data[0]["custom_data"]} == {"note": {"a": 1}, "level": 3}
    one_key = (await client.get(f"/api/v1/trades/{trade['trade_id']}/custom-data", params={"key": "level"})).json()
    assert [row["key"] for row in one_key[0]["custom_data"]] == ["level"]
    opened = (await client.get("/api/v1/trades/open/custom-data")).json()
    assert [entry["trade_id"] for entry in opened] == [trade["trade_id"]]
    assert (await client.get("/api/v1/trades/404/custom-data")).status_code == 404
