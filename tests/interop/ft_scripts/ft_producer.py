"""A real freqtrade producer (run with .venv-freqtrade): freqtrade's own message websocket, nothing of ours.

FastAPI + uvicorn with freqtrade's ``/api/v1/message/ws`` router, its ``MessageStream`` (created in the app's
lifespan, as freqtrade's webserver does), its real ``RPC`` class and ``DataProvider`` over a stub bot object
(config, dataprovider, active_pair_whitelist) and an in-memory trade database. Broadcasts go through
``DataProvider._emit_df`` (the 1-row ``analyzed_df`` + ``new_candle``), the whitelist as the bot sends it.

Two modes:

``python ft_producer.py FRAMES_JSON TOKEN JWT_KEY`` (driven): ``FRAMES_JSON`` holds ``{"timeframe": "5m",
"whitelist": [...], "initial_rows": n (or {pair: n}), "frames": {pair: {"columns": [...], "dtypes": {column:
dtype}, "data": [[row], ...]}}}`` (``date`` in epoch ms, null for NaN/None). The first ``initial_rows`` rows
of each frame are cached; the test drives the broadcasts.

``python ft_producer.py --live SPEC_JSON TOKEN JWT_KEY`` (live): ``SPEC_JSON`` holds ``{"speed", "epoch_ms",
"timeframe", "pairs", "entry_pair", "entry_every", "rows"}``. Time is tradecast's simulated clock
(``epoch + (wall - epoch) * speed``), so a tradecast bot with the same sim speed and epoch agrees on candle
dates. Like a freqtrade bot with ``process_only_new_candles = false``, each pair's frame gains the newly closed
candle(s) and its last row is broadcast every 0.3 s wall (``new_candle`` when it is new). Rows are generated
from (pair, date): RSI crosses 30 on every ``entry_every``-th candle of ``entry_pair`` (where ``enter_long``
is 1 and ``enter_tag`` is ``ft_live_cross``), TEMA rises below the middle band, volume > 0.

Prints ``{"ready": true, "port": N}`` and then answers JSON-line commands on stdin with one JSON line each:

* ``{"cmd": "emit", "pair": P, "upto": k}`` (driven): cache rows ``[0, k)`` of P and broadcast its last row;
* ``{"cmd": "whitelist", "pairs": [...]}``: set the active whitelist and broadcast it;
* ``{"cmd": "dump", "pair": P}`` (live): P's cached rows ``{date_ms: {column: value}}`` and its entry dates;
* ``{"cmd": "stats"}``: the requests received so far (``requests``: a list of request dicts).

End of input stops it.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import sys
import time
from contextlib import asynccontextmanager
from types import SimpleNamespace

import numpy as np
import pandas as pd
import uvicorn
from fastapi import FastAPI
from freqtrade.data.dataprovider import DataProvider
from freqtrade.enums import CandleType, RPCMessageType, RunMode
from freqtrade.exchange import timeframe_to_msecs
from freqtrade.persistence import init_db
from freqtrade.rpc.api_server import api_ws
from freqtrade.rpc.api_server.webserver import ApiServer
from freqtrade.rpc.api_server.ws.message_stream import MessageStream
from freqtrade.rpc.rpc import RPC

LIVE_COLUMNS = ["rsi", "tema", "bb_lowerband", "bb_middleband", "bb_upperband", "enter_long", "exit_long",
                "enter_tag"]


class StreamPublisher:
    """What freqtrade's RPCManager does for the API server: every message goes to the MessageStream."""

    def send_msg(self, msg: dict) -> None:
        if ApiServer._message_stream:
            ApiServer._message_stream.publish(msg)


def load_frames(spec: dict) -> dict[str, pd.DataFrame]:
    frames = {}
    for pair, body in spec["frames"].items():
        frame = pd.DataFrame(body["data"], columns=body["columns"]).astype(body.get("dtypes", {}))
        frame["date"] = pd.to_datetime(frame["date"], unit="ms", utc=True)
        frames[pair] = frame
    return frames


class Live:
    """Generated candles on tradecast's simulated clock."""

    def __init__(self, spec: dict) -> None:
        self.speed = float(spec["speed"])
        self.epoch_s = spec["epoch_ms"] / 1000
        self.tf_ms = timeframe_to_msecs(spec["timeframe"])
        self.pairs = list(spec["pairs"])
        self.entry_pair = spec["entry_pair"]
        self.every = int(spec["entry_every"])
        self.rows = int(spec["rows"])

    def last_closed_ms(self) -> int:
        now_ms = (self.epoch_s + (time.time() - self.epoch_s) * self.speed) * 1000
        return int(now_ms // self.tf_ms) * self.tf_ms - self.tf_ms

    def row(self, pair: str, date_ms: int) -> dict:
        n = date_ms // self.tf_ms
        rng = np.random.default_rng([self.pairs.index(pair), n])
        close = 100 + 5 * math.sin(n / 17) + rng.normal(0, 0.3)
        rsi = 50 + rng.uniform(-5, 5)
        enter = 0
        if pair == self.entry_pair and n % self.every == self.every - 2:
            rsi = 25.0 + rng.uniform(0, 1)
        elif pair == self.entry_pair and n % self.every == self.every - 1:
            rsi, enter = 35.0 + rng.uniform(0, 1), 1
        tema = 90 + (n % 100_000) * 0.001 + rng.uniform(0, 1e-4)
        return {
            "date": pd.Timestamp(date_ms, unit="ms", tz="UTC"), "open": close + rng.normal(0, 0.05),
            "high": close + 0.5, "low": close - 0.5, "close": close, "volume": float(round(rng.uniform(10, 1000))),
            "rsi": rsi, "tema": tema, "bb_lowerband": tema - 10.123456789, "bb_middleband": tema + 5.000000001,
            "bb_upperband": tema + 20.98765432109, "enter_long": enter, "exit_long": 0,
            "enter_tag": "ft_live_cross" if enter else None,
        }

    def frame(self, pair: str, first_ms: int, last_ms: int) -> pd.DataFrame:
        rows = [self.row(pair, ms) for ms in range(first_ms, last_ms + 1, self.tf_ms)]
        return pd.DataFrame(rows).astype({"enter_long": "int64", "exit_long": "int64", "enter_tag": "object"})


async def main() -> None:
    live_mode = sys.argv[1] == "--live"
    args = sys.argv[2:] if live_mode else sys.argv[1:]
    spec_path, token, jwt_key = args[:3]
    with open(spec_path) as fh:
        spec = json.load(fh)
    timeframe = spec["timeframe"]

    config = {
        "runmode": RunMode.DRY_RUN,
        "dry_run": True,
        "timeframe": timeframe,
        "candle_type_def": CandleType.SPOT,
        "api_server": {"enabled": True, "ws_token": token, "jwt_secret_key": jwt_key},
    }
    init_db("sqlite://")
    dp = DataProvider(config, None, rpc=StreamPublisher())
    frames: dict[str, pd.DataFrame]
    live = Live(spec) if live_mode else None
    if live is not None:
        last = live.last_closed_ms()
        frames = {pair: live.frame(pair, last - (live.rows - 1) * live.tf_ms, last) for pair in live.pairs}
        whitelist = list(live.pairs)
        for pair, frame in frames.items():
            dp._set_cached_df(pair, timeframe, frame.copy(), CandleType.SPOT)
    else:
        frames = load_frames(spec)
        whitelist = list(spec["whitelist"])
        initial = spec["initial_rows"]
        for pair, frame in frames.items():
            rows = initial[pair] if isinstance(initial, dict) else initial
            if rows:  # 0: not analysed yet (requests get freqtrade's empty frame and 1970 "la")
                dp._set_cached_df(pair, timeframe, frame.iloc[:rows].copy(), CandleType.SPOT)
    bot = SimpleNamespace(config=config, dataprovider=dp, active_pair_whitelist=whitelist)
    ApiServer._config = config
    ApiServer._rpc = RPC(bot)
    ApiServer._has_rpc = True

    requests: list = []
    original = api_ws._process_consumer_request

    async def counting(request, channel, rpc):
        requests.append(request)
        return await original(request, channel, rpc)

    api_ws._process_consumer_request = counting

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        ApiServer._message_stream = MessageStream()
        yield
        ApiServer._message_stream = None

    app = FastAPI(lifespan=lifespan)
    app.include_router(api_ws.router, prefix="/api/v1")

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # freqtrade's own server settings for the API (uvicorn_threaded): no websocket pings
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws_ping_interval=None))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.02)

    last_dates: dict[str, object] = {}

    def emit(pair: str, frame: pd.DataFrame) -> bool:
        """What the bot does after analysing a pair: cache the frame, broadcast its last row."""
        dp._set_cached_df(pair, timeframe, frame, CandleType.SPOT)
        new_candle = last_dates.get(pair) != frame["date"].iloc[-1]
        last_dates[pair] = frame["date"].iloc[-1]
        dp._emit_df((pair, timeframe, CandleType.SPOT), frame, new_candle)
        return bool(new_candle)

    async def run_live() -> None:
        assert live is not None
        StreamPublisher().send_msg({"type": RPCMessageType.WHITELIST, "data": bot.active_pair_whitelist})
        while True:
            last = live.last_closed_ms()
            for pair in live.pairs:
                frame = frames[pair]
                have = int(frame["date"].iloc[-1].value // 1_000_000)
                if last > have:
                    frame = pd.concat([frame, live.frame(pair, have + live.tf_ms, last)], ignore_index=True)
                    frames[pair] = frame = frame.tail(1500).reset_index(drop=True)
                emit(pair, frame.copy())
            await asyncio.sleep(0.3)

    live_task = asyncio.create_task(run_live()) if live is not None else None
    print(json.dumps({"ready": True, "port": port}), flush=True)

    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line.strip():
            if not line:
                break
            continue
        command = json.loads(line)
        kind = command["cmd"]
        if kind == "emit":
            pair, upto = command["pair"], int(command["upto"])
            reply = {"ok": True, "new_candle": emit(pair, frames[pair].iloc[:upto].copy())}
        elif kind == "whitelist":
            bot.active_pair_whitelist = list(command["pairs"])
            StreamPublisher().send_msg({"type": RPCMessageType.WHITELIST, "data": bot.active_pair_whitelist})
            reply = {"ok": True}
        elif kind == "dump":
            frame = frames[command["pair"]]
            rows = {}
            for record in frame.to_dict("records"):
                values = {}
                for column in LIVE_COLUMNS:
                    value = record[column]
                    values[column] = None if value is None or (isinstance(value, float) and math.isnan(value)) \
                        else (value if isinstance(value, str) else float(value))
                rows[str(record["date"].value // 1_000_000)] = values
            entries = [int(d.value // 1_000_000) for d in frame.loc[frame["enter_long"] == 1, "date"]]
            reply = {"rows": rows, "entry_dates_ms": entries}
        elif kind == "stats":
            reply = {"requests": requests}
        else:
            reply = {"error": f"unknown command {kind!r}"}
        print(json.dumps(reply, default=str), flush=True)

    if live_task is not None:
        live_task.cancel()
    server.should_exit = True
    await asyncio.wait_for(serving, 5)


if __name__ == "__main__":
    asyncio.run(main())
