"""The official ``freqtrade-client`` (pinned 2026.9) against a real ``tradecast trade`` process.

Every public method of ``FtRestClient`` is called through a recording proxy; a method the test does not
call fails it, so a client upgrade that adds methods is noticed. Features tradecast does not have must
answer a clear JSON error (the client returns ``resp.json()`` whatever the status, or None when the
connection fails), never None or a 500.
"""

from __future__ import annotations

import inspect
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from freqtrade_client import FtRestClient

from tests.integration.helpers import BotProcess, free_port, write_bot_config

pytestmark = pytest.mark.integration

USERNAME = "ftclient"
PASSWORD = "ft-client-password-7Hq2"
JWT_KEY = "fedcba9876543210" * 4
PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]

QUIET_STRATEGY = '''
from tradecast.strategy import IStrategy


class QuietStrategy(IStrategy):
    """Never signals: every trade in this test is forced through the API."""

    INTERFACE_VERSION = 3
    timeframe = "1m"
    minimal_roi = {"0": 10.0}
    stoploss = -0.9
    startup_candle_count = 3
    order_types = {"entry": "market", "exit": "market", "force_entry": "market", "force_exit": "market",
                   "stoploss": "market", "stoploss_on_exchange": False}
    plot_config = {"main_plot": {"sma3": {"color": "red"}}}

    def populate_indicators(self, dataframe, metadata):
        dataframe["sma3"] = dataframe["close"].rolling(3).mean()
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        dataframe["enter_long"] = 0
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        dataframe["exit_long"] = 0
        return dataframe
'''


def public_methods() -> set[str]:
    return {name for name, _ in inspect.getmembers(FtRestClient, inspect.isfunction) if not name.startswith("_")}


class Recorder:
    """Forwards to the client and remembers which public methods were called."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.called: set[str] = set()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.called.add(name)
            return method(*args, **kwargs)

        return call


def wait_until(fetch: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def json_error(answer: Any) -> str:
    """The message of a freqtrade-shaped error answer (``{"error"}`` or ``{"detail"}``), or fail."""
    assert isinstance(answer, dict), answer
    message = answer.get("error") or answer.get("detail")
    assert isinstance(message, str) and message, answer
    return message


def start_bot(bot_dir: Path) -> tuple[BotProcess, str]:
    port = free_port()
    (bot_dir / "strategies").mkdir(parents=True, exist_ok=True)
    (bot_dir / "strategies" / "quiet.py").write_text(QUIET_STRATEGY)
    config = write_bot_config(bot_dir, name="ftclient", speed=60.0, pairs=PAIRS, strategy="QuietStrategy", extra={
        "force_entry_enable": True,
        "max_open_trades": 10,
        "exchange": {"name": "sim", "pair_whitelist": PAIRS, "pair_blacklist": ["DOGE/USDT"],
                     "sim": {"seed": 11, "speed": 60.0}},
        "api_server": {"enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": port,
                       "username": USERNAME, "password": PASSWORD, "jwt_secret_key": JWT_KEY},
    })
    proc = BotProcess(config, bot_dir / "ftclient.log")
    proc.wait_for("API server listening on", timeout=30)
    return proc, f"http://127.0.0.1:{port}"


def check_info(ft: Recorder) -> dict[str, Any]:
    assert ft.ping() == {"status": "pong"}
    shown = ft.show_config()
    assert shown["api_version"] >= 2 and shown["state"] == "running"
    assert shown["bot_name"] == "ftclient" and shown["strategy"] == "QuietStrategy"
    assert shown["force_entry_enable"] is True and shown["timeframe"] == "1m"
    assert isinstance(ft.version()["version"], str)
    health = wait_until(ft.health, lambda h: h.get("last_process_ts"))
    assert health["last_process"] and health["last_process_ts"] > 0, health
    assert ft.whitelist() == {"whitelist": PAIRS, "length": 3, "method": ["StaticPairList"]}
    assert "DOGE/USDT" in ft.blacklist()["blacklist"]
    added = ft.blacklist("XRP/USDT")
    assert "XRP/USDT" in added["blacklist"] and added["length"] == len(added["blacklist"])
    assert ft.balance()["stake"] == "USDT"
    sysinfo = ft.sysinfo()
    assert isinstance(sysinfo["cpu_pct"], list) and 0 <= sysinfo["ram_pct"] <= 100
    logs = ft.logs(5)
    assert 1 <= logs["log_count"] <= 5 and all(len(line) == 5 for line in logs["logs"])
    assert "QuietStrategy" in ft.strategies()["strategies"]
    detail = ft.strategy("QuietStrategy")
    assert detail["strategy"] == "QuietStrategy" and "class QuietStrategy" in detail["code"]
    assert json_error(ft.strategy("NoSuchStrategy")) == "No strategy with that name found."
    assert ft.plot_config() == {"main_plot": {"sma3": {"color": "red"}}}
    return health


def check_candles(ft: Recorder) -> None:
    candles = wait_until(lambda: ft.pair_candles("BTC/USDT", "1m", limit=5), lambda c: c.get("length", 0) > 0)
    assert candles["pair"] == "BTC/USDT" and 1 <= candles["length"] <= 5
    assert len(candles["data"]) == candles["length"] and "sma3" in candles["columns"]
    assert all(len(row) == len(candles["columns"]) for row in candles["data"])
    filtered = ft.pair_candles("BTC/USDT", "1m", limit=3, columns=["close"])  # POST variant
    assert "close" in filtered["columns"] and "sma3" not in filtered["columns"]
    history = ft.pair_history("ETH/USDT", "1m", "QuietStrategy")  # freqaimodel goes out as the string "None"
    assert history["strategy"] == "QuietStrategy" and history["length"] > 0
    available = ft.available_pairs()  # empty strings mean any
    assert set(PAIRS) <= set(available["pairs"]) and available["length"] == len(available["pairs"])
    assert ft.available_pairs(timeframe="1m", stake_currency="USDT")["pair_interval"][0][1] == "1m"


def check_trading(ft: Recorder) -> None:
    entered = ft.forceenter("ETH/USDT", "long", order_type="market", stake_amount=50, enter_tag="ft_client")
    trade_id = entered["trade_id"]
    assert isinstance(trade_id, int) and entered["pair"] == "ETH/USDT" and entered["is_open"] is True
    assert entered["enter_tag"] == "ft_client" and entered["stake_amount"] == pytest.approx(50, rel=0.05)
    bought = ft.forcebuy("SOL/USDT")
    assert bought["pair"] == "SOL/USDT" and bought["trade_id"] != trade_id
    assert "short" in json_error(ft.forceenter("BTC/USDT", "short"))
    open_ids = {t["trade_id"] for t in ft.status()}
    assert {trade_id, bought["trade_id"]} <= open_ids
    assert ft.count()["current"] == len(open_ids)
    assert ft.trade(trade_id)["trade_id"] == trade_id
    assert json_error(ft.trade(999999)) == "Trade not found."
    assert "custom-data" in json_error(ft.list_open_trades_custom_data())
    assert str(trade_id) in json_error(ft.list_custom_data(trade_id, key="nope"))
    json_error(ft.cancel_open_order(trade_id))  # the market entry has filled: nothing to cancel

    assert ft.forceexit(trade_id) == {"result": f"Created exit order for trade {trade_id}."}
    history = wait_until(ft.trades, lambda h: trade_id in [t["trade_id"] for t in h["trades"]])
    closed = [t for t in history["trades"] if t["trade_id"] == trade_id]
    assert closed and closed[0]["is_open"] is False and closed[0]["exit_reason"] == "force_exit"
    assert history["total_trades"] == len(history["trades"]) == 1
    assert ft.trades(limit=1, offset=0, order_by_id=False)["trades"][0]["trade_id"] == trade_id
    assert ft.trades(limit=5, offset=1)["trades"] == []
    assert trade_id not in {t["trade_id"] for t in ft.status()}

    deleted = ft.delete_trade(bought["trade_id"])
    assert deleted["result"] == "success" and deleted["trade_id"] == bought["trade_id"]
    assert ft.status() == []

    profit = ft.profit()
    assert profit["closed_trade_count"] == 1 and profit["trade_count"] == 1
    assert profit["profit_closed_coin"] == pytest.approx(closed[0]["profit_abs"])
    assert [p["pair"] for p in ft.performance()] == ["ETH/USDT"]
    assert ft.entries()[0]["enter_tag"] == "ft_client" and ft.entries(pair="BTC/USDT") == []
    assert ft.exits()[0]["exit_reason"] == "force_exit"
    assert ft.mix_tags("ETH/USDT")[0]["count"] == 1
    reasons = ft.stats()["exit_reasons"]["force_exit"]
    assert reasons["wins"] + reasons["losses"] + reasons["draws"] == 1
    for method, count in ((ft.daily, 3), (ft.weekly, 2), (ft.monthly, 2)):
        periods = method(count)
        assert len(periods["data"]) == count and periods["stake_currency"] == "USDT"
        assert sum(p["trade_count"] for p in periods["data"]) == 1


def check_locks(ft: Recorder, health: dict[str, Any]) -> None:
    until = datetime.fromtimestamp(health["last_process_ts"], UTC) + timedelta(days=1)
    locked = ft.lock_add("BTC/USDT", until.strftime("%Y-%m-%d %H:%M:%SZ"), side="*", reason="ft_client")
    assert locked["lock_count"] == 1
    lock = locked["locks"][0]
    assert lock["pair"] == "BTC/USDT" and lock["reason"] == "ft_client" and lock["active"] is True
    assert ft.locks()["locks"] == locked["locks"]
    assert ft.delete_lock(lock["id"]) == {"lock_count": 0, "locks": []}
    assert ft.locks()["lock_count"] == 0


def check_control(ft: Recorder) -> None:
    assert ft.stopbuy()["status"].startswith("No more entries")
    assert ft.reload_config() == {"status": "Reloading config ..."}
    assert ft.stop()["status"] in ("stopping trader ...", "already stopped")
    wait_until(ft.show_config, lambda c: c["state"] == "stopped")
    assert ft.ping() == {"status": "not_running"}
    assert ft.start()["status"] in ("starting trader ...", "already running")
    assert wait_until(ft.ping, lambda p: p == {"status": "pong"}) == {"status": "pong"}


def check_missing_features(ft: Recorder) -> None:
    """freqtrade's webserver-mode features answer 503 ``{"detail": ...}`` here, as in a trading freqtrade."""
    assert json_error(ft.pairlists_available()) == "Bot is not in the correct state."


def test_freqtrade_client_drives_every_method(bot_dir: Path) -> None:
    proc, url = start_bot(bot_dir)
    try:
        ft = Recorder(FtRestClient(url, USERNAME, PASSWORD, timeout=10))
        denied = FtRestClient(url, USERNAME, "wrong-password").count()
        assert denied == {"detail": "Unauthorized"}
        health = check_info(ft)
        check_candles(ft)
        check_trading(ft)
        check_locks(ft, health)
        check_missing_features(ft)
        check_control(ft)
        missing = public_methods() - ft.called
        assert not missing, f"freqtrade-client methods not exercised: {sorted(missing)}"
        assert len(public_methods()) >= 43
    finally:
        code = proc.stop(signal.SIGINT)
    out = proc.output()
    assert code == 0, out[-3000:]
    assert "Traceback" not in out and "unhandled error" not in out, out[-3000:]
