"""A real freqtrade consumer: freqtrade's own ExternalMessageConsumer + DataProvider (run with .venv-freqtrade).

Usage: ``python ft_consumer.py PORT TOKEN TIMEFRAME [PAIR ...] [KEY=NUMBER ...]``; ``KEY=NUMBER`` arguments
go into the ``external_message_consumer`` section (``wait_timeout=1``).

Prints ``{"ready": true}`` once the consumer thread runs, then answers commands read from stdin, one JSON line
per command:

* ``snapshot``: what the DataProvider holds: ``get_producer_pairs()`` and, for every pair of that list and of
  the command line, ``get_producer_df(pair)`` (rows, columns, dtypes, dates in epoch ms, index, ``la``, cell
  values: floats or null for numeric columns, strings or null otherwise), plus the consumer's log records
  (WARNING and above, and its "requesting N candles" lines);
* ``quit``: shut the consumer down and exit.
"""

from __future__ import annotations

import json
import logging
import sys

import pandas as pd
from freqtrade.data.dataprovider import DataProvider
from freqtrade.rpc.external_message_consumer import ExternalMessageConsumer


class Recorder(logging.Handler):
    """Keeps freqtrade's log records (INFO and above) for the snapshots."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[dict[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append({"level": record.levelname, "logger": record.name, "msg": record.getMessage()})


def cells(series: pd.Series) -> list:
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return [None if pd.isna(v) else float(v) for v in series.tolist()]
    return [None if (v is None or (isinstance(v, float) and v != v)) else str(v) for v in series.tolist()]


def describe(dp: DataProvider, pair: str) -> dict:
    frame, la = dp.get_producer_df(pair)
    out: dict = {"rows": len(frame), "columns": [str(c) for c in frame.columns], "la": la.isoformat()}
    if frame.empty:
        return out
    out["dtypes"] = {str(c): str(t) for c, t in frame.dtypes.items()}
    out["index"] = [int(i) for i in frame.index.tolist()]
    dates = frame["date"]
    out["date_tz"] = str(getattr(dates.dt, "tz", None))
    out["dates_ms"] = [int(ts.value // 1_000_000) for ts in dates]
    out["values"] = {str(c): cells(frame[c]) for c in frame.columns if c != "date"}
    return out


def main() -> None:
    port, token, timeframe, *rest = sys.argv[1:]
    pairs = [arg for arg in rest if "=" not in arg]
    options = {key: float(value) for key, value in (arg.split("=", 1) for arg in rest if "=" in arg)}
    recorder = Recorder()
    logging.getLogger("freqtrade").addHandler(recorder)
    logging.getLogger("freqtrade").setLevel(logging.INFO)
    config = {
        "timeframe": timeframe,
        "candle_type_def": "spot",
        "external_message_consumer": {
            "enabled": True,
            "producers": [{"name": "default", "host": "127.0.0.1", "port": int(port), "ws_token": token}],
            "sleep_time": 1,
            **options,
        },
    }
    dp = DataProvider(config, None)
    emc = ExternalMessageConsumer(config, dp)
    print(json.dumps({"ready": True}), flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "quit":
                break
            if command == "snapshot":
                listed = dp.get_producer_pairs()
                names = list(dict.fromkeys([*listed, *pairs]))
                snapshot = {
                    "producer_pairs": listed,
                    "frames": {pair: describe(dp, pair) for pair in names},
                    "log": list(recorder.records),
                }
                print(json.dumps(snapshot), flush=True)
            else:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    finally:
        emc.shutdown()


if __name__ == "__main__":
    main()
