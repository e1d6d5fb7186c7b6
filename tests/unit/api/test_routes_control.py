"""Control routes on a real bot: state switches, config reload, locks, and every class of bad input."""

from __future__ import annotations

import json
from datetime import timedelta

from .conftest import RestHarness


async def test_start_stop_and_stop_entry(rest: RestHarness) -> None:
    client, bot = rest.client, rest.bot
    assert (await client.post("/api/v1/start")).json() == {"status": "already running"}
    assert (await client.post("/api/v1/stop")).json() == {"status": "stopping trader ..."}
    assert bot.state == "stopped"
    assert (await client.post("/api/v1/stop")).json() == {"status": "already stopped"}
    assert (await client.post("/api/v1/start")).json() == {"status": "starting trader ..."}
    assert bot.state == "running"
    for path in ("/api/v1/stopentry", "/api/v1/stopbuy", "/api/v1/pause"):
        bot.engine.entries_enabled = True
        answer = (await client.post(path)).json()
        assert answer == {"status": "No more entries will occur from now. Run /reload_config to reset."}
        assert bot.engine.entries_enabled is False


async def test_reload_config_applies_settings_and_survives_a_broken_file(rest: RestHarness) -> None:
    client, bot = rest.client, rest.bot
    await client.post("/api/v1/stopentry")
    data = json.loads(rest.config_path.read_text())
    data["stake_amount"] = 42
    data["max_open_trades"] = 1
    data["exchange"]["pair_blacklist"] = ["SOL/USDT"]
    rest.config_path.write_text(json.dumps(data))
    assert (await client.post("/api/v1/reload_config")).json() == {"status": "Reloading config ..."}
    assert bot.engine.entries_enabled is True
    assert bot.config.stake_amount == 42 and bot.config.max_open_trades == 1
    assert bot.engine.blacklist == ["SOL/USDT"] and bot.engine.whitelist == ["BTC/USDT", "ETH/USDT"]
    entered = await rest.enter("BTC/USDT")
    assert 40 < entered["stake_amount"] <= 42  # 42 rounded down to the amount step
    full = await client.post("/api/v1/forceenter", json={"pair": "ETH/USDT"})
    assert full.status_code == 502 and "max_open_trades (1)" in full.json()["error"]

    rest.config_path.write_text('{"stake_amount": ')  # broken JSON
    broken = await client.post("/api/v1/reload_config")
    assert broken.status_code == 502 and broken.json()["error"].startswith("Error querying /api/v1/reload_config:")
    assert str(rest.config_path) in broken.json()["error"]
    data["stake_amount"] = -5  # valid JSON, invalid value
    rest.config_path.write_text(json.dumps(data))
    invalid = await client.post("/api/v1/reload_config")
    assert invalid.status_code == 502 and "stake_amount" in invalid.json()["error"]
    assert bot.config.stake_amount == 42 and bot.state == "running"  # still running on the old settings


async def test_reload_refuses_a_config_that_leaves_no_pair(rest: RestHarness) -> None:
    data = json.loads(rest.config_path.read_text())
    data["exchange"]["pair_blacklist"] = [".*/USDT"]
    rest.config_path.write_text(json.dumps(data))
    refused = await rest.client.post("/api/v1/reload_config")
    assert refused.status_code == 502 and "no tradable pair" in refused.json()["error"]
    assert rest.bot.engine.blacklist == ["DOGE/USDT"] and len(rest.bot.engine.whitelist) == 3


async def test_locks_add_list_delete(rest: RestHarness) -> None:
    client = rest.client
    until = rest.clock.now() + timedelta(hours=2)
    added = (await client.post("/api/v1/locks", json=[
        {"pair": "BTC/USDT", "until": until.isoformat(), "reason": "manual"},
        {"pair": "ETH/USDT", "until": until.isoformat(), "side": "long"},
    ])).json()
    assert added["lock_count"] == 2
    btc = added["locks"][0]
    assert btc["pair"] == "BTC/USDT" and btc["reason"] == "manual" and btc["active"] is True and btc["side"] == "*"
    assert btc["lock_end_timestamp"] == int(until.timestamp() * 1000)
    assert btc["lock_end_time"] == until.strftime("%Y-%m-%d %H:%M:%S")

    count = await rest.trade_count()
    locked = await client.post("/api/v1/forceenter", json={"pair": "BTC/USDT"})
    assert locked.status_code == 502 and "locked" in locked.json()["error"]
    assert await rest.trade_count() == count

    after_delete = (await client.delete(f"/api/v1/locks/{btc['id']}")).json()
    assert [lk["pair"] for lk in after_delete["locks"]] == ["ETH/USDT"]
    by_pair = (await client.post("/api/v1/locks/delete", json={"pair": "ETH/USDT"})).json()
    assert by_pair == {"lock_count": 0, "locks": []}
    await rest.enter("BTC/USDT")

    # a lock that ended is no longer listed
    await client.post("/api/v1/locks", json=[{"pair": "SOL/USDT", "until": (until - timedelta(hours=1)).isoformat()}])
    assert (await client.get("/api/v1/locks")).json()["lock_count"] == 1
    rest.clock.advance(3 * 3600)
    assert (await client.get("/api/v1/locks")).json() == {"lock_count": 0, "locks": []}


async def test_bad_input_is_rejected_without_touching_trades(rest: RestHarness) -> None:
    client, bot = rest.client, rest.bot
    trade = await rest.enter("BTC/USDT")
    before = await rest.trade_count()
    amount = bot.engine.open_trades[trade["trade_id"]].amount

    def check(response, status: int, text: str) -> None:
        assert response.status_code == status, response.text
        assert text in response.text, response.text

    # malformed JSON and wrong types: 422 with FastAPI's detail list
    malformed = await client.post("/api/v1/forceenter", content=b'{"pair": "ETH/USDT"',
                                  headers={"Content-Type": "application/json"})
    check(malformed, 422, "json_invalid")
    check(await client.post("/api/v1/forceenter", json={"pair": 5}), 422, "string_type")
    check(await client.post("/api/v1/forceenter", json={"pair": "ETH/USDT", "stakeamount": "lots"}), 422,
          "stakeamount")
    check(await client.post("/api/v1/forceenter", json={"pair": "ETH/USDT", "ordertype": "stop"}), 422,
          "ordertype")
    check(await client.post("/api/v1/forceenter", json={"pair": "ETH/USDT", "price": -1}), 422, "price")
    check(await client.post("/api/v1/forceexit", json={"tradeid": [1]}), 422, "tradeid")
    check(await client.post("/api/v1/forceexit", json={"tradeid": trade["trade_id"], "amount": 0}), 422, "amount")
    check(await client.post("/api/v1/locks", json={"pair": "BTC/USDT"}), 422, "list_type")
    check(await client.post("/api/v1/locks", json=[{"pair": "BTC/USDT", "until": "soon"}]), 422, "until")
    check(await client.post("/api/v1/blacklist", json={"blacklist": "ETH/USDT"}), 422, "list_type")
    check(await client.get("/api/v1/trade/abc"), 422, "int_parsing")

    # limits out of range: 422
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "x"}):
        check(await client.get("/api/v1/trades", params=params), 422, "detail")
    for path in ("/api/v1/daily", "/api/v1/weekly", "/api/v1/monthly"):
        check(await client.get(path, params={"timescale": 0}), 422, "timescale")
        check(await client.get(path, params={"timescale": 366}), 422, "timescale")

    # rule failures: 502 {"error": ...}
    check(await client.post("/api/v1/forceenter", json={"pair": "NOPE/USDT"}), 502, "NOPE/USDT is not traded")
    check(await client.post("/api/v1/forceenter", json={"pair": "DOGE/USDT"}), 502, "blacklisted")
    check(await client.post("/api/v1/forceenter", json={"pair": "ETH/USDT", "side": "short"}), 502,
          "short entries are not supported")
    check(await client.post("/api/v1/forceenter", json={"pair": "ETH/USDT", "leverage": 3}), 502, "leverage")
    check(await client.post("/api/v1/forceenter", json={"pair": "BTC/USDT"}), 502, "already open")
    check(await client.post("/api/v1/forceexit", json={"tradeid": 999}), 502, "no open trade with id 999")
    check(await client.post("/api/v1/forceexit", json={"tradeid": "abc"}), 502, "tradeid must be")
    check(await client.post("/api/v1/forceexit", json={"tradeid": trade["trade_id"], "amount": amount * 2}), 502,
          "amount must be between")
    check(await client.post("/api/v1/locks", json=[{"pair": "BTC/USDT", "until": "2030-01-01T00:00:00Z"},
                                                   {"pair": "NOPE/USDT", "until": "2030-01-01T00:00:00Z"}]),
          502, "NOPE/USDT")
    assert bot.engine.locks == []  # the valid first item was not applied either
    unknown = await client.get("/api/v1/pair_candles", params={"pair": "NOPE/USDT", "timeframe": "5m"})
    assert unknown.status_code == 200 and unknown.json()["length"] == 0  # freqtrade: empty, not an error

    bot.config.force_entry_enable = False
    disabled = await client.post("/api/v1/forceenter", json={"pair": "ETH/USDT"})
    assert disabled.status_code == 502
    assert disabled.json() == {"error": "Error querying /api/v1/forceenter: Force_entry not enabled."}
    check(await client.post("/api/v1/forcebuy", json={"pair": "ETH/USDT"}), 502, "Force_entry not enabled.")

    assert await rest.trade_count() == before
    still_open = bot.engine.open_trades[trade["trade_id"]]
    assert still_open.is_open and still_open.amount == amount and not still_open.has_open_orders


async def test_forceexit_string_id_and_all(rest: RestHarness) -> None:
    first = await rest.enter("BTC/USDT")
    await rest.enter("ETH/USDT")
    await rest.enter("SOL/USDT")
    answer = await rest.client.post("/api/v1/forcesell", json={"tradeid": str(first["trade_id"])})
    assert answer.json() == {"result": f"Created exit order for trade {first['trade_id']}."}
    assert len(rest.bot.engine.open_trades) == 2
    everything = await rest.client.post("/api/v1/forceexit", json={"tradeid": "all", "ordertype": "market"})
    assert everything.json() == {"result": "Created exit orders for all open trades."}
    assert rest.bot.engine.open_trades == {}
    assert (await rest.client.get("/api/v1/trades")).json()["total_trades"] == 3


async def test_lock_dates_out_of_range_are_422(rest) -> None:
    for until in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"):
        answer = await rest.client.post("/api/v1/locks", json=[{"pair": "ETH/USDT", "until": until}])
        assert answer.status_code == 422, (until, answer.text)


async def test_a_backtracking_blacklist_pattern_is_refused_not_run(rest) -> None:
    answer = await rest.client.post("/api/v1/blacklist", json={"blacklist": ["(.*)*(.*)*(.*)*(.*)*Z"]})
    assert answer.status_code == 200
    body = answer.json()
    assert "(.*)*(.*)*(.*)*(.*)*Z" not in body["blacklist"] and body["errors"]
