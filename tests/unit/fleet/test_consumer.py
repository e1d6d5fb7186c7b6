"""ConsumerService with a real Bot (sim market, fake clock) against the in-test producer.

Covers gap fills without request storms, short histories, remove_entry_exit_signals, event-driven analysis
(the engine decides within milliseconds of the message, with no bot loop running) and the seeds'
ConsumerStrategy trading on the producer's columns.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.unit.fleet.test_client_support import FakeProducer, analyzed, eventually, make_frame
from tradecast.bot import Bot
from tradecast.config import load_config
from tradecast.core.clock import FakeClock
from tradecast.fleet.attach import attach_consumer
from tradecast.market.sim import SimMarket, candles_to_frame
from tradecast.strategy import load_strategy

NOW = datetime(2026, 1, 1, 12, 0, 20, tzinfo=UTC)  # 20 s after the 12:00 candle closed
PAIRS = ["BTC/USDT", "ETH/USDT"]


def sim_producer_frames(market: SimMarket, pairs: list[str], rows: int = 400) -> dict[str, pd.DataFrame]:
    """What a ProducerStrategy producer on the same sim market holds: analysed frames up to the last close."""
    strategy = load_strategy("ProducerStrategy", {})
    frames = {}
    for pair in pairs:
        candles = market.candles(pair, "5m", None, rows, False)
        frames[pair] = strategy.analyze(candles_to_frame(candles), {"pair": pair})
    return frames


def write_config(tmp_path: Path, port: int, **consumer) -> Path:
    section = {"enabled": True, "producers": [{"name": "default", "host": "127.0.0.1", "port": port,
                                               "ws_token": "secret"}], "sleep_time": 1}
    section.update(consumer)
    config = {
        "strategy": "ConsumerStrategy", "max_open_trades": 3, "stake_currency": "USDT", "stake_amount": 100,
        "dry_run": True, "dry_run_wallet": 1000, "db_url": f"sqlite:///{tmp_path / 'consumer.sqlite'}",
        "user_data_dir": str(tmp_path), "exchange": {"name": "sim", "pair_whitelist": PAIRS, "sim": {"seed": 7}},
        "internals": {"heartbeat_interval": 0}, "external_message_consumer": section,
    }
    path = tmp_path / "consumer.json"
    path.write_text(json.dumps(config))
    return path


class Harness:
    """A consumer Bot (not looping) + its ConsumerService + a FakeProducer serving sim frames."""

    def __init__(self, tmp_path: Path, prepare=None, **consumer) -> None:
        self.tmp_path = tmp_path
        self.prepare = prepare
        self.consumer = consumer
        self.clock = FakeClock(NOW)
        self.market = SimMarket(seed=7, clock=self.clock)
        self.producer = FakeProducer(pairs=list(PAIRS))

    async def __aenter__(self) -> Harness:
        await self.producer.start()
        self.producer.frames = sim_producer_frames(self.market, PAIRS)
        if self.prepare is not None:
            self.prepare(self.producer)
        config = load_config([write_config(self.tmp_path, self.producer.port, **self.consumer)])
        self.bot = Bot(config, market=self.market)
        self.service = attach_consumer(self.bot)
        self.client = self.service.clients["default"]
        await self.bot.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.bot.stop()
        await self.producer.kill()

    def analyzed_last(self, pair: str):
        entry = self.bot.analyzed.get(pair, "5m")
        return None if entry is None else entry[0]["date"].iloc[-1]


@pytest.fixture
def harness(tmp_path):
    return Harness(tmp_path, producer_data_only=True)


@pytest.mark.parametrize("producer_data_only", [True, False])
async def test_sync_analyses_every_pair_and_entries_equal_the_producers(tmp_path, producer_data_only):
    async with Harness(tmp_path, producer_data_only=producer_data_only) as h:
        await eventually(lambda: h.client.synced and all(h.analyzed_last(p) is not None for p in PAIRS))
        assert h.bot.pipeline.fetch_candles is not producer_data_only
        compared = 0
        for pair in PAIRS:
            mine = h.bot.analyzed.get(pair, "5m")[0]
            theirs = h.producer.frames[pair]
            if producer_data_only:
                assert list(mine["date"]) == list(theirs["date"])  # base frame = the producer's candles
            else:  # own (longer) candle history; the producer's rows line up on the newest dates
                assert len(mine) > len(theirs) and mine["date"].iloc[-1] == theirs["date"].iloc[-1]
                mine = mine[mine["date"] >= theirs["date"].iloc[1]].reset_index(drop=True)
                theirs = theirs.iloc[1:].reset_index(drop=True)  # a cross needs the row before
            assert "rsi_default" in mine and "date_default" in mine and "enter_long_default" in mine
            assert (mine["date_default"] == mine["date"]).all()
            assert (mine["enter_long"].to_numpy() == theirs["enter_long"].to_numpy()).all()
            assert (mine["exit_long"].to_numpy() == theirs["exit_long"].to_numpy()).all()
            compared += int(theirs["enter_long"].sum())
        assert compared > 0  # the comparison covered real entries
        status = h.bot.health_reporters["external_message_consumer"]()
        assert status["producers"]["default"]["synced"] and status["frames"] == 2


async def test_event_driven_entry_without_any_bot_loop_pass(harness):
    """No bot loop runs in this harness: a trade can only come from the message itself. (How fast is the
    freshness benchmark's business, bench/fleet_freshness.py, not a timed unit test's.)"""
    async with harness as h:
        await eventually(lambda: all(h.analyzed_last(p) is not None for p in PAIRS))
        assert not h.bot.engine.open_trades
        h.clock.advance(300)  # the 12:05 candle closed 20 s ago
        frame = sim_producer_frames(h.market, ["ETH/USDT"], rows=401)["ETH/USDT"]
        last = frame.index[-1]
        # make the new candle an entry by the seed's rule: rsi crosses 30 with tema under the middle band, rising
        frame.loc[last - 1, "rsi"], frame.loc[last, "rsi"] = 25.0, 35.0
        frame.loc[last, "tema"] = frame.loc[last - 1, "tema"] + 1e-6
        frame.loc[last, "bb_middleband"] = frame.loc[last, "tema"] + 1.0
        h.producer.frames["ETH/USDT"] = frame
        decisions: list[float] = []
        h.service.decision_listeners.append(lambda pair, seconds: decisions.append(seconds))
        await h.producer.broadcast(analyzed("ETH/USDT", frame.iloc[-2:]))
        await eventually(lambda: h.bot.engine.trade_for("ETH/USDT") is not None, timeout=5, interval=0.001)
        assert h.analyzed_last("ETH/USDT") == frame["date"].iloc[-1]
        await eventually(lambda: bool(decisions))
        assert decisions[-1] >= 0  # the service measured how long the decision took after the data arrived
        # the same candle again (a producer re-sending it) never opens a second trade
        await h.producer.broadcast(analyzed("ETH/USDT", frame.iloc[-1:]))
        await asyncio.sleep(0.05)
        assert len(h.bot.engine.open_trades) == 1


async def test_gap_fill_sends_one_request_per_missing_candle_and_none_for_short_histories(tmp_path):
    short = make_frame(20, start=NOW - timedelta(minutes=100))

    def prepare(producer):
        producer.whitelist = [*PAIRS, "SOL/USDT"]
        producer.frames["SOL/USDT"] = short

    async with Harness(tmp_path, prepare) as h:
        await eventually(lambda: h.client.synced)
        base = len(h.producer.requests)
        assert base == 3
        btc = h.producer.frames["BTC/USDT"]
        step = timedelta(minutes=5)
        extra = make_frame(4, start=btc["date"].iloc[-1] + step, seed=9).assign(
            **{c: 0.0 for c in btc.columns if c not in make_frame(1).columns})[btc.columns]
        h.producer.frames["BTC/USDT"] = pd.concat([btc, extra], ignore_index=True)
        for _ in range(5):  # a gap of three candles, announced five times
            await h.producer.broadcast(analyzed("BTC/USDT", extra.iloc[-1:]))
        await eventually(lambda: h.service.outcomes["merged"] >= 1)
        await asyncio.sleep(0.05)
        gap_requests = h.producer.requests[base:]
        assert gap_requests == ['{"type":"analyzed_df","data":{"limit":4,"pair":"BTC/USDT"}}']
        stored, _ = h.service.store.get("default", "BTC/USDT", "5m")
        assert len(stored) == len(h.producer.frames["BTC/USDT"])
        assert stored["date"].diff().iloc[1:].eq(step).all()
        # the 20-row history was stored from the reply: next candles append without any request
        for i in range(3):
            row = make_frame(1, start=short["date"].iloc[-1] + step * (i + 1), seed=i)
            await h.producer.broadcast(analyzed("SOL/USDT", row))
        await eventually(lambda: len(h.service.store.get("default", "SOL/USDT", "5m")[0]) == 23)
        assert h.producer.requests[base + 1:] == []


async def test_no_history_asks_once_per_candle(tmp_path):
    def prepare(producer):
        producer.whitelist = [*PAIRS, "XRP/USDT"]  # XRP has no frame on the producer yet

    async with Harness(tmp_path, prepare) as h:
        await eventually(lambda: h.client.synced)
        h.producer.answer_requests = False  # replies lost: the consumer must not loop
        row = make_frame(1, start=NOW)
        for _ in range(4):
            await h.producer.broadcast(analyzed("XRP/USDT", row))
        # the first row finds nothing stored and asks once; while that answer is owed and nothing is stored,
        # the next one-row frame is taken as the answer (a producer holding one row answers exactly so)
        await eventually(lambda: h.service.store.entry("default", "XRP/USDT", "5m") is not None)
        await asyncio.sleep(0.05)
        assert h.service.outcomes["no_history"] == 1
        assert h.producer.requests[3:] == ['{"type":"analyzed_df","data":{"limit":0,"pair":"XRP/USDT"}}']
        for _ in range(3):  # the next candle appends; no more requests
            await h.producer.broadcast(analyzed("XRP/USDT", make_frame(1, start=NOW + timedelta(minutes=5))))
        await eventually(lambda: len(h.service.store.get("default", "XRP/USDT", "5m")[0]) == 2)
        await asyncio.sleep(0.05)
        assert len(h.producer.requests) == 4


async def test_remove_entry_exit_signals_zeroes_signals_and_tags(tmp_path):
    def prepare(producer):
        for frame in producer.frames.values():
            frame.loc[frame.index[-3:], ["exit_long", "exit_tag"]] = (1, "x")

    async with Harness(tmp_path, prepare, remove_entry_exit_signals=True, producer_data_only=True) as h:
        await eventually(lambda: all(h.analyzed_last(p) is not None for p in PAIRS))
        for pair in PAIRS:
            stored, _ = h.service.store.get("default", pair, "5m")
            assert (stored[["enter_long", "exit_long", "enter_short", "exit_short"]] == 0).all().all()
            assert stored["enter_tag"].isna().all() and stored["exit_tag"].isna().all()
            mine = h.bot.analyzed.get(pair, "5m")[0]
            assert mine["exit_long"].sum() == 0  # ConsumerStrategy exits on exit_long_default only


async def test_missing_producer_frames_are_explained_once(tmp_path, caplog):
    caplog.set_level(logging.INFO, "tradecast.fleet.consumer")
    async with Harness(tmp_path) as h:
        await eventually(lambda: h.client.synced)
        dp = h.bot.dataprovider
        for _ in range(3):
            assert dp.get_producer_df("BTC/USDT", producer_name="other")[0].empty
            assert dp.get_producer_df("DOGE/USDT")[1] == datetime(1970, 1, 1, tzinfo=UTC)
            assert dp.get_producer_df("BTC/USDT", timeframe="1h")[0].empty
            assert dp.get_external_df("BTC/USDT")[0].shape[0] == 400
        messages = [r.getMessage() for r in caplog.records if "logged once" in r.getMessage()]
        assert len(messages) == 3, messages
        assert any("'other', which is not configured" in m for m in messages)
        assert any("DOGE/USDT is not in the whitelist of producer 'default'" in m for m in messages)
        assert any("timeframe mismatch" in m for m in messages)
        assert dp.get_producer_pairs() == PAIRS
        frame, _ = dp.get_producer_df("BTC/USDT")
        frame.loc[:, "rsi"] = -1.0  # a copy: the store is untouched
        assert (h.service.store.get("default", "BTC/USDT", "5m")[0]["rsi"] != -1.0).any()


async def test_pairs_sharded_over_two_producers_feed_one_wallet(tmp_path):
    """Seed 003: each producer analyses part of the pairs; the consumer trades all of them."""
    market = SimMarket(seed=7, clock=FakeClock(NOW))
    frames = sim_producer_frames(market, PAIRS)
    first, second = FakeProducer(pairs=["BTC/USDT"]), FakeProducer(pairs=["ETH/USDT", "BTC/USDT"])
    first.frames = {"BTC/USDT": frames["BTC/USDT"]}
    second.frames = {"ETH/USDT": frames["ETH/USDT"], "BTC/USDT": make_frame(400, start=NOW - timedelta(hours=40))}
    await first.start()
    await second.start()
    path = write_config(tmp_path, first.port, producer_data_only=True, producers=[
        {"name": "one", "host": "127.0.0.1", "port": first.port, "ws_token": "secret"},
        {"name": "two", "host": "127.0.0.1", "port": second.port, "ws_token": "secret"}])
    bot = Bot(load_config([path]), market=market)
    service = attach_consumer(bot)
    await bot.start()
    try:
        await eventually(lambda: all(c.synced for c in service.clients.values())
                         and all(bot.analyzed.get(p, "5m") is not None for p in PAIRS))
        assert bot.dataprovider.get_producer_pairs("one") == ["BTC/USDT"]
        assert bot.dataprovider.get_producer_pairs("two") == ["ETH/USDT", "BTC/USDT"]
        # candles: the first configured producer that has the pair wins
        assert bot.candles.get("BTC/USDT", "5m")["close"].tolist() == frames["BTC/USDT"]["close"].tolist()
        assert bot.candles.get("ETH/USDT", "5m")["close"].tolist() == frames["ETH/USDT"]["close"].tolist()
        assert set(service.status()["producers"]) == {"one", "two"}
    finally:
        await bot.stop()
        await first.kill()
        await second.kill()


def test_tradecast_wire_switch_reaches_every_client(tmp_path):
    from types import SimpleNamespace

    from tradecast.config import ExternalMessageConsumerConfig
    from tradecast.fleet.consumer import ConsumerService

    producers = [{"name": n, "host": "127.0.0.1", "port": 8080, "ws_token": "t"} for n in ("a", "b")]
    bot = SimpleNamespace(strategy=SimpleNamespace(timeframe="5m"), dataprovider=SimpleNamespace(producer_source=None))
    for flag in (True, False):
        config = ExternalMessageConsumerConfig.model_validate(
            {"enabled": True, "producers": producers, "tradecast_wire": flag})
        service = ConsumerService(bot, config)
        assert [client.offer_compact for client in service.clients.values()] == [flag, flag]


async def test_fed_candles_are_float_copies_of_the_producers_newest_rows(tmp_path):
    def whole_number_prices(producer) -> None:  # a producer that sends integers for ETH's prices
        frame = producer.frames["ETH/USDT"]
        for column in ("open", "high", "low", "close"):
            frame[column] = (frame[column] * 100).round().astype("int64")

    async with Harness(tmp_path, whole_number_prices, producer_data_only=True) as h:
        await eventually(lambda: all(h.analyzed_last(p) is not None for p in PAIRS))
        for pair in PAIRS:
            candles = h.bot.candles.get(pair, "5m")
            stored = h.service.store.entry("default", pair, "5m", "spot").frame
            assert list(candles.columns) == ["date", "open", "high", "low", "close", "volume"]
            assert (candles.dtypes.iloc[1:] == "float64").all()
            assert isinstance(candles.index, pd.RangeIndex) and candles.index.start == 0
            tail = stored.tail(len(candles)).reset_index(drop=True)
            assert candles["close"].tolist() == tail["close"].astype("float64").tolist()
            assert candles["date"].tolist() == tail["date"].tolist()
            before = stored["close"].iloc[-1]
            candles.loc[len(candles) - 1, "close"] = -1.0
            assert stored["close"].iloc[-1] == before  # the store's frame is not shared
