"""freqtrade's own ExternalMessageConsumer (2026.9, its own process) follows a tradecast producer.

Our producer: a Bot running ProducerStrategy on the sim market (FakeClock, moved by the test) with its API
server and ``/api/v1/message/ws``. Their consumer: ``ft_scripts/ft_consumer.py`` (freqtrade's
ExternalMessageConsumer + DataProvider). We compare what freqtrade stored with our analysed frames.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.interop.conftest import WS_TOKEN, FtStarter, TradecastProducer
from tradecast.fleet import producer as producer_module

pytestmark = pytest.mark.integration

PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
START = datetime(2026, 11, 20, 12, 0, 30, tzinfo=UTC)
TF = "5m"
INDICATORS = ("rsi", "tema", "bb_lowerband", "bb_middleband", "bb_upperband")


def ms(series: pd.Series) -> list[int]:
    return [int(ts.value // 1_000_000) for ts in pd.to_datetime(series, utc=True)]


def assert_cells_equal(theirs: list[Any], ours: pd.Series, what: str) -> None:
    """freqtrade decodes our full-precision floats with pandas' fast parser: equal to ~1 ulp."""
    assert len(theirs) == len(ours), what
    for index, (got, want) in enumerate(zip(theirs, ours.tolist(), strict=True)):
        want_null = want is None or (isinstance(want, float) and math.isnan(want))
        if want_null:
            assert got is None, f"{what}[{index}]: {got!r}, expected null"
        elif isinstance(want, str):
            assert got == want, f"{what}[{index}]: {got!r} != {want!r}"
        else:
            assert got is not None and math.isclose(got, float(want), rel_tol=1e-14, abs_tol=1e-300), (
                f"{what}[{index}]: {got!r} != {want!r}")


def assert_same_rows(snap: dict[str, Any], frame: pd.DataFrame, what: str, tail: int | None = None) -> None:
    """The last ``tail`` rows (all when None) freqtrade holds equal ``frame``'s last rows, cell by cell."""
    ours = frame if tail is None else frame.tail(tail)
    n = len(ours)
    assert snap["dates_ms"][-n:] == ms(ours["date"]), f"{what}: dates"
    for column in ours.columns:
        if column == "date":
            continue
        assert_cells_equal(snap["values"][column][-n:], ours[column], f"{what}: {column}")


async def test_freqtrade_consumer_syncs_appends_and_fills_gaps(tmp_path: Path, ft_process: FtStarter,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    requests: list[dict[str, Any]] = []
    original = producer_module._Session.handle

    async def counting(self: Any, raw: str | bytes) -> None:
        requests.append(json.loads(raw))
        await original(self, raw)

    monkeypatch.setattr(producer_module._Session, "handle", counting)
    producer = await TradecastProducer.start(tmp_path, PAIRS, START)
    try:
        await producer.bot.run_once()  # analysed 1000-row frames before freqtrade connects
        ours = {pair: producer.bot.analyzed.get(pair, TF) for pair in PAIRS}
        # wait_timeout=1: freqtrade pings after 1 s without a message (its only keepalive); we must pong
        consumer = await ft_process("ft_consumer.py", str(producer.port), WS_TOKEN, TF, *PAIRS, "wait_timeout=1")
        assert (await consumer.read_json()) == {"ready": True}

        # 1. initial sync: the whitelist and a full frame per pair, as we analysed them
        snap = await consumer.poll("snapshot", lambda s: all(s["frames"][p]["rows"] for p in PAIRS), "initial sync")
        assert snap["producer_pairs"] == PAIRS
        for pair in PAIRS:
            frame, la = ours[pair]
            got = snap["frames"][pair]
            assert got["rows"] == len(frame) == 1000, pair
            assert got["columns"] == [str(c) for c in frame.columns], pair
            assert {"rsi", "tema", "bb_middleband", "enter_long", "exit_long"} <= set(got["columns"])
            assert got["date_tz"] == "UTC" and got["dtypes"]["date"].startswith("datetime64[") and "UTC" in \
                got["dtypes"]["date"], got["dtypes"]["date"]
            assert datetime.fromisoformat(got["la"]) == la
            assert_same_rows(got, frame, pair)
        first = snap

        # 2. the sim moves one candle: each pair's 1-row broadcast is appended (not a re-request)
        producer.clock.advance(300)
        await producer.bot.run_once()
        newest = {pair: producer.bot.analyzed.get(pair, TF)[0] for pair in PAIRS}
        snap = await consumer.poll(
            "snapshot", lambda s: all(s["frames"][p]["dates_ms"][-1] == ms(newest[p]["date"])[-1] for p in PAIRS),
            "one-candle append")
        for pair in PAIRS:
            got = snap["frames"][pair]
            assert got["rows"] == 1001, pair
            assert got["dates_ms"][:1000] == first["frames"][pair]["dates_ms"], pair
            for column in INDICATORS:  # the stored history is kept as it was
                assert got["values"][column][:1000] == first["frames"][pair]["values"][column], (pair, column)
            assert_same_rows(got, newest[pair], f"{pair} appended row", tail=1)
            assert datetime.fromisoformat(got["la"]) == producer.bot.analyzed.get(pair, TF)[1]

        # 3. three candles at once: a gap of 3 -> freqtrade asks for 4 rows, we answer, it splices them in
        producer.clock.advance(900)
        await producer.bot.run_once()
        newest = {pair: producer.bot.analyzed.get(pair, TF)[0] for pair in PAIRS}
        snap = await consumer.poll(
            "snapshot", lambda s: all(s["frames"][p]["dates_ms"][-1] == ms(newest[p]["date"])[-1] for p in PAIRS),
            "gap fill")
        for pair in PAIRS:
            got = snap["frames"][pair]
            assert got["rows"] == 1004, pair
            assert_same_rows(got, newest[pair], f"{pair} gap reply", tail=4)
            dates = got["dates_ms"]
            assert all(b - a == 300_000 for a, b in itertools.pairwise(dates)), f"{pair}: holes in dates"

        # 4. a whitelist change reaches get_producer_pairs()
        producer.bot.engine.whitelist = PAIRS[:2]
        snap = await consumer.poll("snapshot", lambda s: s["producer_pairs"] == PAIRS[:2], "whitelist broadcast")

        # 5. no request loop: the 3 connect requests, then one 4-row request per pair, nothing else; silence is
        #    bridged by freqtrade's pings (answered by our server), never by a reconnect
        await asyncio.sleep(2.5)
        snap = await consumer.command("snapshot")
        messages = [r["msg"] for r in snap["log"]]
        assert sum("Connected to channel" in m for m in messages) == 1, messages
        assert any("still alive" in m for m in messages), messages
        assert requests[:3] == [{"type": "subscribe", "data": ["whitelist", "analyzed_df"]}, {"type": "whitelist"},
                                {"type": "analyzed_df", "data": {"limit": 1500, "pair": None}}], requests
        gap_requests = requests[3:]
        assert sorted(r["data"]["pair"] for r in gap_requests) == sorted(PAIRS), requests
        assert {r["data"]["limit"] for r in gap_requests} == {4}, requests
        problems = [r for r in snap["log"] if r["level"] in ("ERROR", "CRITICAL")]
        assert not problems, problems
        holes = [r["msg"] for r in snap["log"] if "Holes in data" in r["msg"]]
        assert len(holes) == len(PAIRS) and all("requesting 4 candles" in h for h in holes), holes
        stats = producer.hub.stats()
        assert stats["subscribers"] == 1 and stats["slow_disconnects"] == 0
        assert stats["per_subscriber"][0]["dropped"] == 0
    finally:
        await producer.stop()


async def test_freqtrade_consumer_connected_before_our_first_analysis(tmp_path: Path, ft_process: FtStarter,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual start-up: empty replies first (freqtrade ignores them); our first 1-row broadcast makes it ask
    for 1500 rows once per pair, which we answer with the whole analysed frame."""
    requests: list[dict[str, Any]] = []
    original = producer_module._Session.handle

    async def counting(self: Any, raw: str | bytes) -> None:
        requests.append(json.loads(raw))
        await original(self, raw)

    monkeypatch.setattr(producer_module._Session, "handle", counting)
    producer = await TradecastProducer.start(tmp_path, PAIRS, START)
    try:
        consumer = await ft_process("ft_consumer.py", str(producer.port), WS_TOKEN, TF, *PAIRS)
        assert (await consumer.read_json()) == {"ready": True}
        await consumer.poll("snapshot", lambda s: s["producer_pairs"] == PAIRS, "whitelist reply")
        deadline = asyncio.get_running_loop().time() + 10
        while len(requests) < 3 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # freqtrade drops requests made before its connect sequence is through (+0.5 s)
        await producer.bot.run_once()
        snap = await consumer.poll("snapshot", lambda s: all(s["frames"][p]["rows"] == 1000 for p in PAIRS),
                                   "history after the first broadcast")
        for pair in PAIRS:
            frame, _ = producer.bot.analyzed.get(pair, TF)
            assert_same_rows(snap["frames"][pair], frame, pair)
        await asyncio.sleep(1.0)
        assert len(requests) == 3 + len(PAIRS), requests
        assert sorted(r["data"]["pair"] for r in requests[3:]) == sorted(PAIRS), requests
        assert {r["data"]["limit"] for r in requests[3:]} == {1500}, requests
    finally:
        await producer.stop()
