"""freqtrade's own message codec (run with .venv-freqtrade): what its consumer decodes, what its producer sends.

Reads JSON-line commands on stdin, answers one JSON line each:

* ``{"cmd": "decode", "text": WIRE_TEXT}``: the path of freqtrade's consumer: the hybrid-JSON serializer's
  ``_deserialize`` (rapidjson + DataFrame object hook), ``WSMessageSchema`` then ``WSAnalyzedDFMessage``
  validation. Answers ``{"ok": true, "key": [...], "la": ISO, "frame": FRAME}`` or ``{"ok": false, "error"}``.
* ``{"cmd": "encode", "frame": FRAME, "key": [...], "la": ISO}``: the path of freqtrade's producer: a
  ``WSAnalyzedDFMessage`` dumped as the channel does, serialised by ``_serialize`` (orjson + DataFrame hook).
  Answers ``{"ok": true, "text": WIRE_TEXT}``.

FRAME is ``{"columns": [{"name", "kind", "dtype", "values"}], "index": [...]}``; kinds: ``float`` (values are
``repr`` strings, ``"nan"``/``"inf"`` included, or null), ``int``, ``bool``, ``str`` (or null), ``date``
(epoch ms or null; tz-aware UTC). On decode, ``dtype`` is pandas' dtype and ``kind`` follows it.
End of input stops it.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import datetime

import pandas as pd
from freqtrade.rpc.api_server.ws.serializer import HybridJSONWebSocketSerializer
from freqtrade.rpc.api_server.ws_schemas import WSAnalyzedDFMessage, WSMessageSchema


def build(spec: dict) -> pd.DataFrame:
    data = {}
    for column in spec["columns"]:
        kind, values = column["kind"], column["values"]
        if kind == "float":
            data[column["name"]] = pd.Series([math.nan if v is None else float(v) for v in values], dtype="float64")
        elif kind == "int":
            data[column["name"]] = pd.Series(values, dtype="int64")
        elif kind == "bool":
            data[column["name"]] = pd.Series(values, dtype="bool")
        elif kind == "str":
            data[column["name"]] = pd.Series(values, dtype="object")
        elif kind == "date":
            data[column["name"]] = pd.to_datetime(pd.Series(values, dtype="float64"), unit="ms", utc=True)
        else:
            raise ValueError(kind)
    frame = pd.DataFrame(data)
    if spec.get("index") is not None:
        frame.index = spec["index"]
    return frame


def describe(frame: pd.DataFrame) -> dict:
    columns = []
    for name in frame.columns:
        series = frame[name]
        dtype = str(series.dtype)
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            kind = "date"
            values = [None if pd.isna(v) else int(v.value // 1_000_000) for v in series]
            dtype += f" tz={getattr(series.dt, 'tz', None)}"
        elif pd.api.types.is_bool_dtype(series.dtype):
            kind, values = "bool", [bool(v) for v in series]
        elif pd.api.types.is_numeric_dtype(series.dtype):
            kind = "float" if pd.api.types.is_float_dtype(series.dtype) else "int"
            values = [None if pd.isna(v) else repr(float(v)) for v in series]
        else:
            kind = "str"
            values = [None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in series]
        columns.append({"name": str(name), "kind": kind, "dtype": dtype, "values": values})
    return {"columns": columns, "index": [int(i) if isinstance(i, int) else str(i) for i in frame.index.tolist()]}


def decode(text: str) -> dict:
    try:
        raw = HybridJSONWebSocketSerializer._deserialize(None, text)
        message = WSMessageSchema.model_validate(raw)
        analyzed = WSAnalyzedDFMessage.model_validate(message.model_dump())
    except Exception as exc:  # what the consumer would log and drop
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    key = [str(getattr(k, "value", k)) for k in analyzed.data.key]
    return {"ok": True, "key": key, "la": analyzed.data.la.isoformat(), "frame": describe(analyzed.data.df)}


def encode(command: dict) -> dict:
    frame = build(command["frame"])
    message = WSAnalyzedDFMessage(data={"key": tuple(command["key"]), "df": frame,
                                        "la": datetime.fromisoformat(command["la"])})
    return {"ok": True, "text": HybridJSONWebSocketSerializer._serialize(None, message.model_dump(exclude_none=True))}


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        reply = decode(command["text"]) if command["cmd"] == "decode" else encode(command)
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
