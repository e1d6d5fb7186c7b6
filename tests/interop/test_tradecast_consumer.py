"""A tradecast consumer follows a real freqtrade producer (freqtrade 2026.9's own message websocket).

Their producer: ``ft_scripts/ft_producer.py`` (freqtrade's ``/api/v1/message/ws`` router, MessageStream, RPC
and DataProvider, under uvicorn) serving frames the test generates; its broadcasts are driven by the test.
Our consumer: a Bot in this process running the built-in ConsumerStrategy with ``producer_data_only`` (its
candles are the producer's), a FakeClock just after the producer's newest candle, and the ConsumerService
(``attach_consumer``) connecting over loopback.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.interop.conftest import JWT_KEY, FtProcess, FtStarter
from tradecast.bot import Bot
from tradecast.config import Config
from tradecast.core.clock import FakeClock
from tradecast.fleet.attach import attach_consumer
from tradecast.market.sim import SimMarket

pytestmark = pytest.mark.integration

PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
SHORT_PAIR = "XRP/USDT"  # a new listing: the producer holds only SHORT_ROWS rows (freqtrade's own consumer loops)
SHORT_ROWS = 40
WHITELIST = [*PAIRS, SHORT_PAIR]
ENTRY_PAIR = "BTC/USDT"
TF = "5m"
#: characters a query string must escape: our client URL-encodes the token, freqtrade's server decodes it.
#: (ASCII only: freqtrade's producer compares tokens with secrets.compare_digest on str, which raises
#: TypeError for non-ASCII text, so a non-ASCII ws_token fails the handshake with any consumer.)
TOKEN = "tok en&x=1+2%41/#?"
N = 300  # rows per generated frame; the producer starts with N - 3 cached
NEWEST = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # open time of the newest candle the producer will send
DTYPES = {"open": "float64", "high": "float64", "low": "float64", "close": "float64", "volume": "float64",
          "rsi": "float64", "tema": "float64", "bb_lowerband": "float64", "bb_middleband": "float64",
          "bb_upperband": "float64", "tiny": "float64", "enter_long": "int64", "exit_long": "float64",
          "enter_tag": "object"}


def make_frame(pair: str, seed: int) -> pd.DataFrame:
    """An analysed-looking frame: many-digit floats, a NaN warm-up, whole floats, ints, tags.

    Only ``ENTRY_PAIR`` has ConsumerStrategy's entry on its newest row (RSI crosses 30 while TEMA rises below
    the middle band), and there the producer's own ``enter_long`` is 1 with a tag.
    """
    rng = np.random.default_rng(seed)
    dates = pd.date_range(end=NEWEST, periods=N, freq="5min", tz="UTC")
    close = 100 + np.cumsum(rng.normal(0, 0.3, N))
    frame = pd.DataFrame({
        "date": dates, "open": close + rng.normal(0, 0.05, N), "high": close + 0.5, "low": close - 0.5,
        "close": close, "volume": np.round(rng.uniform(10, 1000, N)),
        "rsi": rng.uniform(45, 60, N), "tema": 90 + np.arange(N) * 0.01 + rng.uniform(0, 0.001, N),
        "bb_lowerband": close - 3.123456789012, "bb_middleband": close + 20.000000000123,
        "bb_upperband": close + 40.98765432109876, "tiny": rng.uniform(0, 1e-6, N),
        "enter_long": 0, "exit_long": 0.0, "enter_tag": None,
    })
    frame.loc[:13, "rsi"] = np.nan  # RSI warm-up
    if pair == ENTRY_PAIR:
        frame.loc[N - 2, "rsi"] = 25.123456789
        frame.loc[N - 1, "rsi"] = 35.987654321
        frame.loc[N - 1, ["enter_long", "enter_tag"]] = (1, "rsi_cross")
    return frame.astype(DTYPES)


def frames_spec(frames: dict[str, pd.DataFrame], whitelist: list[str], initial_rows: dict[str, int]) -> dict[str, Any]:
    spec: dict[str, Any] = {"timeframe": TF, "whitelist": whitelist, "initial_rows": initial_rows, "frames": {}}
    for pair, frame in frames.items():
        rows = []
        for record in frame.itertuples(index=False):
            row: list[Any] = []
            for column, value in zip(frame.columns, record, strict=True):
                if column == "date":
                    row.append(int(value.value // 1_000_000))
                elif value is None or (isinstance(value, float) and np.isnan(value)):
                    row.append(None)
                else:
                    row.append(value.item() if hasattr(value, "item") else value)
            rows.append(row)
        spec["frames"][pair] = {"columns": list(frame.columns), "dtypes": DTYPES, "data": rows}
    return spec


def assert_frame_matches(got: pd.DataFrame, sent: pd.DataFrame, what: str) -> None:
    """Same columns, dates and rows; floats within 1e-10 (freqtrade writes 10 decimals); tags equal."""
    assert list(got.columns) == list(sent.columns), f"{what}: columns {list(got.columns)}"
    assert len(got) == len(sent), f"{what}: {len(got)} rows, sent {len(sent)}"
    assert str(got["date"].dt.tz) == "UTC", f"{what}: date dtype {got['date'].dtype}"
    assert (got["date"].to_numpy() == sent["date"].to_numpy()).all(), f"{what}: dates differ"
    for column in sent.columns:
        if column == "date":
            continue
        if column == "enter_tag":
            assert [None if pd.isna(v) else v for v in got[column]] == list(sent[column]), f"{what}: {column}"
            continue
        mine, theirs = got[column].to_numpy(dtype=float), sent[column].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(mine), np.isnan(theirs)), f"{what}: NaNs of {column}"
        assert np.allclose(mine, theirs, rtol=0, atol=1e-10, equal_nan=True), (
            f"{what}: {column} off by {np.nanmax(np.abs(mine - theirs))}")


async def wait_for(check: Any, what: str, timeout: float = 10.0, producer: FtProcess | None = None) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    tail = f"\nproducer stderr:\n{producer.stderr_tail()}" if producer else ""
    raise AssertionError(f"{what}: not within {timeout}s{tail}")


async def test_tradecast_consumer_follows_a_freqtrade_producer(tmp_path: Path, ft_process: FtStarter,
                                                               caplog) -> None:
    initial_candle_limit = 1500
    caplog.set_level(logging.DEBUG, logger="tradecast.fleet.client")
    frames = {pair: make_frame(pair, seed) for seed, pair in enumerate(PAIRS)}
    short = make_frame(SHORT_PAIR, 9).iloc[: N - 3].tail(SHORT_ROWS).reset_index(drop=True)
    initial = {**dict.fromkeys(PAIRS, N - 3), SHORT_PAIR: SHORT_ROWS}
    spec_path = tmp_path / "frames.json"
    spec_path.write_text(json.dumps(frames_spec({**frames, SHORT_PAIR: short}, WHITELIST, initial)))
    producer = await ft_process("ft_producer.py", str(spec_path), TOKEN, JWT_KEY)
    ready = await producer.read_json()
    assert ready["ready"], ready

    config = Config.model_validate({
        "strategy": "ConsumerStrategy", "stake_currency": "USDT", "stake_amount": 100, "max_open_trades": 3,
        "db_url": f"sqlite:///{tmp_path / 'consumer.sqlite'}",
        "exchange": {"name": "sim", "pair_whitelist": WHITELIST},
        "external_message_consumer": {
            "enabled": True, "producer_data_only": True, "sleep_time": 1, "initial_candle_limit": initial_candle_limit,
            "wait_timeout": 1, "ping_timeout": 2,
            "producers": [{"name": "default", "host": "127.0.0.1", "port": ready["port"], "ws_token": TOKEN}]},
    })
    clock = FakeClock(NEWEST + timedelta(minutes=5, seconds=30))  # the producer's newest candle just closed
    bot = Bot(config, market=SimMarket(seed=5, clock=clock))
    service = attach_consumer(bot)
    client = service.clients["default"]
    dp = bot.dataprovider

    def rows(pair: str) -> int:
        return len(dp.get_producer_df(pair)[0])

    await bot.start()
    try:
        # 1. initial sync: the whitelist, then each pair's cached N - 3 rows as freqtrade sent them; the short
        #    history (< 100 rows, which freqtrade's consumer re-requests forever) is stored as the reply it is
        await wait_for(lambda: client.synced and all(rows(p) == N - 3 for p in PAIRS), "initial sync",
                       producer=producer)
        assert dp.get_producer_pairs() == WHITELIST
        assert_frame_matches(dp.get_producer_df(SHORT_PAIR)[0], short, f"{SHORT_PAIR} short history")
        for pair in PAIRS:
            got, la = dp.get_producer_df(pair)
            assert_frame_matches(got, frames[pair].iloc[: N - 3], f"{pair} initial")
            assert la.tzinfo is not None and la > datetime(2026, 1, 1, tzinfo=UTC)
        assert not bot.engine.open_trades

        # 2. freqtrade's 1-row broadcast of the next candle is appended
        for pair in PAIRS:
            assert (await producer.command({"cmd": "emit", "pair": pair, "upto": N - 2}))["new_candle"]
        await wait_for(lambda: all(rows(p) == N - 2 for p in PAIRS), "one-row append", producer=producer)
        for pair in PAIRS:
            assert_frame_matches(dp.get_producer_df(pair)[0], frames[pair].iloc[: N - 2], f"{pair} appended")

        # 3. one candle skipped: the consumer asks for the gap and freqtrade answers from its cache
        for pair in PAIRS:
            await producer.command({"cmd": "emit", "pair": pair, "upto": N})
        await wait_for(lambda: all(rows(p) == N for p in PAIRS), "gap fill", producer=producer)
        for pair in PAIRS:
            assert_frame_matches(dp.get_producer_df(pair)[0], frames[pair], f"{pair} after the gap reply")

        # 4. the strategy acts on the producer's columns: ENTRY_PAIR's newest candle enters, nothing else does
        await wait_for(lambda: any(t.pair == ENTRY_PAIR for t in bot.engine.open_trades.values()),
                       "entry on the producer's signal", producer=producer)
        assert sorted(t.pair for t in bot.engine.open_trades.values()) == [ENTRY_PAIR]
        analysed, _ = bot.analyzed.get(ENTRY_PAIR, TF)
        assert analysed["enter_long_default"].iloc[-1] == 1 and analysed["enter_long"].iloc[-1] == 1
        assert analysed["rsi_default"].iloc[-1] == pytest.approx(35.987654321, abs=1e-10)

        # 5. freqtrade re-sends the same candle (process_only_new_candles=False): updated in place, no request
        await producer.command({"cmd": "emit", "pair": ENTRY_PAIR, "upto": N})
        await asyncio.sleep(0.5)
        assert_frame_matches(dp.get_producer_df(ENTRY_PAIR)[0], frames[ENTRY_PAIR], f"{ENTRY_PAIR} re-sent")

        # 6. a whitelist broadcast replaces get_producer_pairs()
        await producer.command({"cmd": "whitelist", "pairs": PAIRS[:2]})
        await wait_for(lambda: dp.get_producer_pairs() == PAIRS[:2], "whitelist broadcast", producer=producer)

        # 7. requests: the three of the connect sequence, then one gap request per pair (none for the short
        #    history); no loop. The silence is bridged by our pings (wait_timeout=1), answered by freqtrade's
        #    server: still the first connection.
        await asyncio.sleep(2.5)
        requests = (await producer.command({"cmd": "stats"}))["requests"]
        assert requests[0] == {"type": "subscribe", "data": ["whitelist", "analyzed_df"]}, requests
        assert requests[1]["type"] == "whitelist", requests
        assert requests[2] == {"type": "analyzed_df", "data": {"limit": initial_candle_limit, "pair": None}}, requests
        gaps = requests[3:]
        assert sorted(r["data"]["pair"] for r in gaps) == sorted(PAIRS), requests
        assert all(2 <= r["data"]["limit"] < 100 for r in gaps), requests
        status = client.status()
        assert status["connects"] == 1 and status["errors"] == {}, status
        assert "pong after" in caplog.text
        assert status["requests_sent"] == len(requests), status
    finally:
        await bot.stop()


async def test_tradecast_consumer_started_before_the_freqtrade_producer_analysed(tmp_path: Path,
                                                                                ft_process: FtStarter) -> None:
    """The usual start-up: the producer has no analysed frame yet (empty replies, ``la`` 1970). Its first
    1-row broadcast per pair makes the consumer ask once for the history, which is then stored and appended to.
    With ``initial_candle_limit=0`` ("everything"), sent as limit 0, never null (freqtrade closes on null).
    """
    frames = {pair: make_frame(pair, seed) for seed, pair in enumerate(PAIRS)}
    spec_path = tmp_path / "frames.json"
    spec_path.write_text(json.dumps(frames_spec(frames, PAIRS, dict.fromkeys(PAIRS, 0))))
    producer = await ft_process("ft_producer.py", str(spec_path), TOKEN, JWT_KEY)
    ready = await producer.read_json()
    config = Config.model_validate({
        "strategy": "ConsumerStrategy", "stake_currency": "USDT", "stake_amount": 100, "max_open_trades": 3,
        "db_url": f"sqlite:///{tmp_path / 'consumer.sqlite'}",
        "exchange": {"name": "sim", "pair_whitelist": PAIRS},
        "external_message_consumer": {
            "enabled": True, "producer_data_only": True, "sleep_time": 1, "initial_candle_limit": 0,
            "producers": [{"name": "default", "host": "127.0.0.1", "port": ready["port"], "ws_token": TOKEN}]},
    })
    bot = Bot(config, market=SimMarket(seed=5, clock=FakeClock(NEWEST + timedelta(minutes=5, seconds=30))))
    service = attach_consumer(bot)
    client, dp = service.clients["default"], bot.dataprovider

    def rows(pair: str) -> int:
        return len(dp.get_producer_df(pair)[0])

    await bot.start()
    try:
        await wait_for(lambda: client.synced, "sync on empty replies", producer=producer)
        assert dp.get_producer_pairs() == PAIRS and all(rows(p) == 0 for p in PAIRS)
        for pair in PAIRS:  # the producer's first analysis: cache N - 2 rows, broadcast the last one
            await producer.command({"cmd": "emit", "pair": pair, "upto": N - 2})
        await wait_for(lambda: all(rows(p) == N - 2 for p in PAIRS), "history after the first broadcast",
                       producer=producer)
        for pair in PAIRS:
            await producer.command({"cmd": "emit", "pair": pair, "upto": N - 1})
        await wait_for(lambda: all(rows(p) == N - 1 for p in PAIRS), "append", producer=producer)
        for pair in PAIRS:
            assert_frame_matches(dp.get_producer_df(pair)[0], frames[pair].iloc[: N - 1], pair)
        await asyncio.sleep(0.5)
        requests = (await producer.command({"cmd": "stats"}))["requests"]
        assert requests[2] == {"type": "analyzed_df", "data": {"limit": 0, "pair": None}}, requests
        assert sorted(r["data"]["pair"] for r in requests[3:]) == sorted(PAIRS), requests  # one each, no loop
        assert client.status()["connects"] == 1
    finally:
        await bot.stop()
