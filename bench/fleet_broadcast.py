"""Benchmark: message-websocket bytes on the wire and producer CPU per broadcast.

1. Bytes per pair for one candle update (a 1-row ``analyzed_df`` + ``new_candle``) and for an initial
   1,500-candle sync, with ProducerStrategy's columns: ours (full float precision) vs freqtrade's encoding
   (pandas ``to_json(orient="split")``, ``double_precision=10``, double-encoded envelope). Also the size after
   permessage-deflate as uvicorn negotiates it (raw deflate, 12 window bits, memLevel 5; one message alone,
   so a lower bound on what context takeover saves is not included), and the ``tradecast.v1`` binary
   payload (the same JSON, zlib level 1, compressed once by the producer; every broadcast is compressed,
   however short, so that the broadcasts a consumer's sender finds queued travel as one binary message).
2. Producer CPU time per broadcast (``time.process_time()`` of the producer process, all its threads) with
   1, 10 and 100 real websocket consumers on loopback. The consumers run in a separate process so their CPU
   is not counted. One broadcast = encode one pair's newest analysed row once and send it to every consumer.
   Modes: ``deflate`` (JSON, the client offers permessage-deflate, as freqtrade consumers do), ``plain``
   (JSON, no compression), ``v1`` (tradecast.v1 without deflate, as tradecast consumers connect), and
   ``v1+deflate`` (both offered: binary frames deflated again per connection; not run by default).

    .venv/bin/python bench/fleet_broadcast.py [--broadcasts 300] [--consumers 1,10,100] [--modes deflate,plain,v1]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import statistics
import time
import zlib
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
import pandas as pd

from tradecast.api import ApiServer, create_app
from tradecast.api.message_ws import message_ws_router
from tradecast.config import Config
from tradecast.core.clock import FakeClock
from tradecast.data.analyzed import AnalyzedStore
from tradecast.fleet.hub import ProducerHub
from tradecast.fleet.producer import ProducerPublisher
from tradecast.market.sim import SimMarket
from tradecast.strategy import load_strategy
from tradecast.trading.analysis import Analyzed
from tradecast.wire import (
    SUBPROTOCOL,
    AnalyzedDfMessage,
    NewCandleMessage,
    decompress_messages,
    encode_message,
    pack,
)

PAIR = "BTC/USDT"
TOKEN = "bench-token-0123456789"
JWT_KEY = "b" * 40
NOW = datetime(2026, 11, 20, 12, 0, 30, 123456, tzinfo=UTC)


async def analysed_frame(rows: int = 1500) -> pd.DataFrame:
    """ProducerStrategy's analysed frame of ``rows`` sim candles."""
    market = SimMarket(seed=42, clock=FakeClock(NOW))
    await market.start()
    config = Config.model_validate({"strategy": "ProducerStrategy", "stake_currency": "USDT", "stake_amount": 10,
                                    "max_open_trades": 1, "exchange": {"name": "sim", "pair_whitelist": [PAIR]}})
    strategy = load_strategy("ProducerStrategy", config)
    candles = await market.fetch_ohlcv(PAIR, "5m", limit=rows)
    return strategy.analyze(candles, {"pair": PAIR}).tail(rows)


# ------------------------------------------------------------------------------------------------ bytes


def freqtrade_encoding(frame: pd.DataFrame, la: datetime) -> bytes:
    """An analyzed_df message as a freqtrade producer writes it (2026.9: dates to int64 ms, then to_json)."""
    df = frame.copy()
    for column in df.columns:
        if isinstance(df[column].dtype, pd.DatetimeTZDtype) or df[column].dtype.kind == "M":
            df[column] = df[column].dt.tz_convert("UTC").astype("datetime64[ms, UTC]").astype("int64")
    inner = df.to_json(orient="split", double_precision=10)
    envelope = {"type": "analyzed_df", "data": {"key": [PAIR, "5m", "spot"],
                                                "df": {"__type__": "dataframe", "__value__": inner}, "la": la}}
    return orjson.dumps(envelope)


def deflated(data: bytes) -> int:
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -12, 5)
    return len(compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)) - 4  # minus the 00 00 ff ff tail


def timed(fn: Any, repeat: int = 300) -> float:
    """CPU seconds of this thread per call (not wall time: other processes on the machine do not count)."""
    start = time.thread_time()
    for _ in range(repeat):
        fn()
    return (time.thread_time() - start) / repeat


def bytes_table(frame: pd.DataFrame) -> None:
    new_candle = encode_message(NewCandleMessage(PAIR, "5m", "spot"))
    print(f"\n1. Bytes per pair, ProducerStrategy ({len(frame.columns)} columns), one message each")
    print(f"{'message':<34}{'ours':>10}{'freqtrade':>11}{'ours/ft':>9}{'ours deflate':>14}{'ft deflate':>12}"
          f"{'v1':>10}{'v1/ft':>7}{'v1/ft defl':>12}")
    compress_us: dict[int, float] = {}
    for label, rows in (("candle update: analyzed_df 1 row", 1), ("initial sync: analyzed_df 1500", 1500)):
        part = frame.tail(rows)
        ours = encode_message(AnalyzedDfMessage(PAIR, "5m", "spot", part, NOW))
        theirs = freqtrade_encoding(part, NOW)
        v1 = len(pack(ours))
        print(f"{label:<34}{len(ours):>10,}{len(theirs):>11,}{len(ours) / len(theirs):>9.2f}"
              f"{deflated(ours):>14,}{deflated(theirs):>12,}{v1:>10,}{v1 / len(theirs):>7.2f}"
              f"{v1 / deflated(theirs):>12.2f}")
        compress_us[rows] = timed(lambda o=ours: pack(o), 300 if rows == 1 else 10) * 1e6
        if rows == 1:
            short = len(pack(new_candle, 0))  # a broadcast: compressed on v1 however short
            print(f"{'  + new_candle':<34}{len(new_candle):>10,}{len(new_candle):>11,}{1:>9.2f}"
                  f"{deflated(new_candle):>14,}{deflated(new_candle):>12,}{short:>10,}{1:>7.2f}"
                  f"{short / deflated(new_candle):>12.2f}")
            one_ours = timed(lambda p=part: encode_message(AnalyzedDfMessage(PAIR, "5m", "spot", p, NOW)))
            one_ft = timed(lambda p=part: freqtrade_encoding(p, NOW))
    print(f"encode time of the 1-row message: ours {one_ours * 1e6:.0f} us (once per broadcast), freqtrade's "
          f"{one_ft * 1e6:.0f} us (freqtrade repeats it for every connection)")
    print(f"tradecast.v1 compression: {compress_us[1]:.0f} us per 1-row broadcast (once for all v1 consumers), "
          f"{compress_us[1500] / 1000:.1f} ms per 1500-row reply (once per reply, in the worker thread)")


# -------------------------------------------------------------------------------------------------- CPU


#: mode -> (permessage-deflate offered, tradecast.v1 offered)
MODES = {"deflate": (True, False), "plain": (False, False), "v1": (False, True), "v1+deflate": (True, True)}


def consumer_process(port: int, count: int, broadcasts: int, mode: str, pipe: Any) -> None:
    """Open ``count`` consumers, report ready, count broadcasts, report done (runs in its own process)."""
    from websockets.asyncio.client import connect

    deflate, v1 = MODES[mode]
    offer = {"compression": "deflate" if deflate else None, "subprotocols": [SUBPROTOCOL] if v1 else None}

    async def one(index: int, ready: asyncio.Event, done: list[int]) -> None:
        url = f"ws://127.0.0.1:{port}/api/v1/message/ws?token={TOKEN}"
        async with connect(url, max_size=None, ping_interval=None, **offer) as ws:
            assert ws.subprotocol == (SUBPROTOCOL if v1 else None)
            await ws.send('{"type":"subscribe","data":["analyzed_df"]}')
            await ws.send('{"type":"whitelist"}')
            await ws.recv()
            done[0] += 1
            if done[0] == count:
                ready.set()
            received = 0
            while received < broadcasts:
                data = await ws.recv()
                assert isinstance(data, bytes) == v1  # v1: every broadcast is a binary frame
                # v1: a frame holds the broadcasts the producer found queued (one zlib stream each); every one
                # of them is inflated and counted, so each consumer still gets all ``broadcasts`` messages
                received += len(decompress_messages(data)) if v1 else 1
                done[1] += 1

    async def main() -> None:
        ready, done = asyncio.Event(), [0, 0]  # consumers ready, websocket messages received (all consumers)
        tasks = [asyncio.ensure_future(one(i, ready, done)) for i in range(count)]
        await ready.wait()
        pipe.send("ready")
        await asyncio.gather(*tasks)
        pipe.send(("done", done[1]))

    asyncio.run(main())


async def cpu_per_broadcast(frame: pd.DataFrame, consumers: int, broadcasts: int, mode: str) -> tuple[float, float]:
    """Producer CPU seconds per broadcast, and websocket messages per broadcast per consumer."""
    bot = SimpleNamespace(analyzed_listeners=[], event_listeners=[], analyzed=AnalyzedStore(),
                          strategy=SimpleNamespace(timeframe="5m"),
                          engine=SimpleNamespace(whitelist=[PAIR], open_trades={}))
    hub = ProducerHub()
    publisher = ProducerPublisher(bot, hub)
    api_config = SimpleNamespace(ws_token=TOKEN, enable_openapi=False, CORS_origins=[], ui_path=None,
                                 username="u", password="p")
    app = create_app(api_config, public_routers=[message_ws_router(publisher)], jwt_key=JWT_KEY)
    server = ApiServer(app, "127.0.0.1", 0)
    await server.start()
    ctx = mp.get_context("spawn")
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=consumer_process, args=(server.port, consumers, broadcasts, mode, theirs))
    proc.start()
    try:
        assert await asyncio.to_thread(ours.recv) == "ready"
        result = Analyzed(PAIR, "5m", frame, False, NOW)
        start = time.process_time()
        for index in range(broadcasts):
            publisher.on_analyzed(result)
            if index % 10 == 9:
                await asyncio.sleep(0.002)  # let the senders run; a bot publishes in bursts of pairs too
        waiting = asyncio.ensure_future(asyncio.to_thread(ours.recv))
        status, frames = await waiting
        assert status == "done"
        used = time.process_time() - start
        assert hub.stats()["slow_disconnects"] == 0
        return used / broadcasts, frames / consumers / broadcasts
    finally:
        proc.join(10)
        await publisher.stop()
        await server.stop(timeout_s=3)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()



async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broadcasts", type=int, default=300)
    parser.add_argument("--consumers", default="1,10,100")
    parser.add_argument("--runs", type=int, default=3, help="runs per cell; the median is shown")
    parser.add_argument("--modes", default="deflate,plain,v1", help=f"any of {', '.join(MODES)}")
    args = parser.parse_args()
    counts = [int(c) for c in args.consumers.split(",")]
    modes = args.modes.split(",")
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown mode(s): {', '.join(sorted(unknown))}")
    print(f"machine: {platform.machine()} {_cpu_model()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
          f"Python {platform.python_version()}, pandas {pd.__version__}")
    frame = await analysed_frame()
    bytes_table(frame)
    print(f"\n2. Producer CPU per broadcast (1-row analyzed_df of {PAIR}), {args.broadcasts} broadcasts, "
          "consumers in another process")
    print(f"{'consumers':>10}" + "".join(f"{mode + ' us':>14}{'x one':>7}{'ws/b':>6}" for mode in modes))
    base: dict[str, float] = {}
    for count in counts:
        cells = []
        for mode in modes:
            runs = [await cpu_per_broadcast(frame, count, args.broadcasts, mode) for _ in range(args.runs)]
            cost = statistics.median(cost for cost, _ in runs)
            per_broadcast = statistics.median(frames for _, frames in runs)
            base.setdefault(mode, cost)
            cells.append(f"{cost * 1e6:>14.0f}{cost / base[mode]:>7.2f}{per_broadcast:>6.2f}")
        print(f"{count:>10}" + "".join(cells), flush=True)
    print("deflate: the client offers permessage-deflate (freqtrade consumers do); plain: no compression;\n"
          "v1: tradecast.v1 without deflate (tradecast consumers); v1+deflate: both offered.\n"
          "ws/b: websocket messages per broadcast per consumer (v1 sends the broadcasts a consumer's sender\n"
          "finds queued as one binary message; JSON modes always send one message per broadcast).\n"
          "Per extra consumer the producer pays one websocket frame (uvicorn), one send() syscall and, with\n"
          "deflate, one compression per websocket message: the message itself is encoded (and for v1\n"
          "compressed) once.")


if __name__ == "__main__":
    asyncio.run(main())
