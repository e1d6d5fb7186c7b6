"""The sending side: a small synchronous library for the system that produces signals.

    from tradecast.signals import SignalSender
    sender = SignalSender(redis_url="redis://127.0.0.1:6379/0")
    signal_id = sender.send("BTC/USDT", "buy", signal_type="anomaly", confidence=0.95,
                            metadata={"detector": "statistical_detector"})
    sender.wait_for_outcomes([signal_id], timeout_s=5)   # what the bot did with it

Every signal is validated with the bot's own schema before it is written, so a mistake is reported to
the sender at once (as :class:`~tradecast.signals.schema.SignalInvalid`) instead of in the bot's
dead-letter stream. Redis being unreachable raises :class:`~tradecast.core.errors.TransientError`.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import redis
import redis.exceptions as redis_errors

from tradecast.core.errors import TransientError
from tradecast.signals.outcome import (
    decode_stoplosses,
    encode_stoploss,
    outcomes_stream,
    redact_url,
    text,
    validate_stoploss_ratio,
)
from tradecast.signals.outcome import stoploss_key as default_stoploss_key
from tradecast.signals.schema import decode_entry, parse_signal

#: how many pending entries :meth:`SignalSender.status` reads to list their pairs
_SCAN_LIMIT = 1000


class SignalSender:
    """Writes signals and custom stoplosses to Redis and reports what is pending.

    ``group`` is the bot's consumer group (used by :meth:`status` and :meth:`clear_signals`).
    """

    def __init__(
        self,
        redis_url: str = "redis://127.0.0.1:6379/0",
        stream: str = "tradecast:signals",
        dead_letter_stream: str = "tradecast:signals:dead",
        stoploss_key: str | None = None,
        *,
        group: str = "tradecast",
        max_entry_bytes: int = 65536,
        client: redis.Redis | None = None,
    ) -> None:
        self.redis_url = redis_url
        self.stream = stream
        self.dead_letter_stream = dead_letter_stream
        self.stoploss_key = stoploss_key or default_stoploss_key(stream)
        self.outcomes_stream = outcomes_stream(stream)
        self.group = group
        self.max_entry_bytes = max_entry_bytes
        #: stream entry id of the last signal written (outcomes can be matched by it, see wait_for_outcomes)
        self.last_entry_id: str | None = None
        self._redis = client or redis.Redis.from_url(redis_url, socket_connect_timeout=5, socket_timeout=10)

    @classmethod
    def from_config(cls, config: Any) -> SignalSender:
        """Build from an ``external_signals`` config section (any object with its attribute names)."""
        return cls(
            redis_url=config.redis_url,
            stream=config.stream,
            dead_letter_stream=config.dead_letter_stream,
            group=config.group,
            max_entry_bytes=config.max_entry_bytes,
        )

    def close(self) -> None:
        self._redis.close()

    def __enter__(self) -> SignalSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _talking(self) -> Iterator[None]:
        # Translate the library's errors where the library is imported (DESIGN.md).
        try:
            yield
        except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as exc:
            raise TransientError(f"Redis unreachable at {redact_url(self.redis_url)}: {exc}") from exc

    # ------------------------------------------------------------------ signals

    def send(
        self,
        pair: str,
        action: str,
        signal_type: str = "test",
        confidence: float = 1.0,
        metadata: Mapping[str, Any] | None = None,
        id: str | None = None,
        ttl_s: float | None = None,
        stake_amount: float | None = None,
        timestamp: datetime | str | None = None,
    ) -> str:
        """Validate and append one signal; returns its id (a fresh uuid4 hex when ``id`` is None)."""
        data: dict[str, Any] = {
            "action": action,
            "pair": pair,
            "signal_type": signal_type,
            "confidence": confidence,
            "timestamp": timestamp or datetime.now(UTC),
            "metadata": dict(metadata or {}),
            "id": id or uuid.uuid4().hex,
        }
        if ttl_s is not None:
            data["ttl_s"] = ttl_s
        if stake_amount is not None:
            data["stake_amount"] = stake_amount
        signal = parse_signal(data, max_bytes=self.max_entry_bytes)
        payload = signal.to_json()
        # the dict was checked; the size limit applies to the text the bot will read
        parse_signal(payload, max_bytes=self.max_entry_bytes)
        self.send_raw({"signal": payload})
        return signal.id or ""

    def send_raw(self, fields: Mapping[str, str | bytes]) -> str:
        """Append an entry as is, unvalidated (for tests and demos of bad input); returns the entry id."""
        with self._talking():
            self.last_entry_id = text(self._redis.xadd(self.stream, dict(fields)))
        return self.last_entry_id

    def send_test_signal(self, pair: str, action: str, reason: str = "manual_test") -> str:
        """A ``test`` signal with full confidence."""
        return self.send(pair, action, "test", 1.0, {"reason": reason, "source": "test"})

    def send_random_signal(self, pair: str, action: str, rng: random.Random | None = None) -> str:
        """A ``random`` signal with a random confidence between 0.5 and 1."""
        confidence = round((rng or random.Random()).uniform(0.5, 1.0), 3)
        return self.send(pair, action, "random", confidence, {"source": "random"})

    def send_anomaly_signal(
        self,
        pair: str,
        action: str,
        anomaly_severity: str,
        detector: str,
        confidence: float,
        affected_metrics: str | Iterable[str] | None = None,
        reason: str | None = None,
    ) -> str:
        """An ``anomaly`` signal carrying the detector's findings in its metadata."""
        metadata: dict[str, Any] = {"anomaly_severity": anomaly_severity, "detector": detector}
        if affected_metrics is not None:
            metrics = affected_metrics.split(",") if isinstance(affected_metrics, str) else affected_metrics
            metadata["affected_metrics"] = [m.strip() for m in metrics if m.strip()]
        if reason is not None:
            metadata["reason"] = reason
        return self.send(pair, action, "anomaly", confidence, metadata)

    # ------------------------------------------------------------------ custom stoplosses

    def set_custom_stoploss(self, pair: str, ratio: float) -> None:
        """Ask the bot to use ``ratio`` (between -1 and 0, e.g. -0.03) as the stoploss of ``pair``."""
        value = encode_stoploss(validate_stoploss_ratio(ratio), datetime.now(UTC))
        with self._talking():
            self._redis.hset(self.stoploss_key, pair, value)

    def clear_custom_stoploss(self, pair: str) -> bool:
        """Remove the custom stoploss of ``pair``; True if there was one."""
        with self._talking():
            return bool(self._redis.hdel(self.stoploss_key, pair))

    def custom_stoplosses(self) -> dict[str, float]:
        """All custom stoplosses as the bot reads them (unusable values left out)."""
        with self._talking():
            raw = self._redis.hgetall(self.stoploss_key)
        return decode_stoplosses(raw)[0]

    # ------------------------------------------------------------------ inspection

    def _group_info(self, group: str) -> dict[str, Any] | None:
        try:
            groups = self._redis.xinfo_groups(self.stream)
        except redis_errors.ResponseError:  # no stream yet
            return None
        return next((g for g in groups if text(g.get("name")) == group), None)

    def _undelivered(self, info: dict[str, Any] | None, limit: int) -> list[tuple[bytes, dict]]:
        """Entries the group has not been given yet (all of them when the group does not exist)."""
        start = "-" if info is None else "(" + text(info.get("last-delivered-id"))
        return self._redis.xrange(self.stream, min=start, max="+", count=limit)

    def status(self, group: str | None = None, rejections: int = 10) -> dict[str, Any]:
        """What is waiting for the bot and what it refused.

        ``pending_signals`` = entries delivered to the group but not acknowledged (the bot is on them or
        crashed before finishing) + entries not delivered yet. ``signal_pairs`` lists the pairs of those
        entries (reading at most 1000 of each kind).
        """
        group = group or self.group
        with self._talking():
            info = self._group_info(group)
            delivered = int(info.get("pending") or 0) if info else 0
            undelivered = self._undelivered(info, _SCAN_LIMIT)
            lag = info.get("lag") if info else self._redis.xlen(self.stream)
            # Redis reports no lag after some deletions; then count (up to the scan limit) ourselves
            waiting = lag if isinstance(lag, int) else len(undelivered)
            entries = list(undelivered)
            if delivered:
                pipe = self._redis.pipeline(transaction=False)
                for row in self._redis.xpending_range(self.stream, group, "-", "+", _SCAN_LIMIT):
                    pipe.xrange(self.stream, min=row["message_id"], max=row["message_id"])
                entries.extend(entry for found in pipe.execute() for entry in found)
            stoplosses = self.custom_stoplosses()
            dead_total = self._redis.xlen(self.dead_letter_stream)
            recent = self.recent_rejections(rejections)
        return {
            "stream": self.stream,
            "group": group,
            "group_exists": info is not None,
            "consumers": int(info.get("consumers") or 0) if info else 0,
            "pending_signals": delivered + waiting,
            "delivered_unacknowledged": delivered,
            "undelivered": waiting,
            "signal_pairs": sorted({p for p in (_pair_of(fields) for _, fields in entries) if p}),
            "active_stoplosses": len(stoplosses),
            "stoploss_pairs": sorted(stoplosses),
            "stoplosses": stoplosses,
            "rejections_total": dead_total,
            "recent_rejections": recent,
        }

    def recent_rejections(self, count: int = 10) -> list[dict[str, str]]:
        """The newest ``count`` dead letters, newest first (the entry excerpt left out)."""
        with self._talking():
            rows = self._redis.xrevrange(self.dead_letter_stream, count=count)
        keep = ("signal_id", "reason", "detail", "rejected_at", "entry_id")
        return [{k: text(fields.get(k.encode())) for k in keep} for _, fields in rows]

    def recent_outcomes(self, count: int = 20) -> list[dict[str, str]]:
        """The bot's newest ``count`` decisions (executed, duplicate, rejected, ignored), newest first."""
        with self._talking():
            rows = self._redis.xrevrange(self.outcomes_stream, count=count)
        return [{text(k): text(v) for k, v in fields.items()} for _, fields in rows]

    def wait_for_outcomes(
        self, ids: Iterable[str], timeout_s: float = 10.0, poll_s: float = 0.1, by: str = "signal_id"
    ) -> dict[str, dict[str, str]]:
        """Poll the outcome stream until every id has an outcome or ``timeout_s`` passed.

        ``by="signal_id"`` matches signal ids (a signal id decided twice keeps its first outcome);
        ``by="entry_id"`` matches stream entry ids (see :attr:`last_entry_id`), which tells apart two
        entries carrying the same signal id. Returns ``{id: outcome}`` for the ids seen.
        """
        wanted = set(ids)
        found: dict[str, dict[str, str]] = {}
        cursor = "-"
        deadline = time.monotonic() + timeout_s
        while True:
            with self._talking():
                rows = self._redis.xrange(self.outcomes_stream, min=cursor, max="+", count=1000)
            for entry_id, fields in rows:
                cursor = "(" + text(entry_id)
                record = {text(k): text(v) for k, v in fields.items()}
                if record.get(by) in wanted:
                    found.setdefault(record[by], record)
            if wanted <= found.keys() or time.monotonic() >= deadline:
                return found
            if not rows:
                time.sleep(poll_s)

    def clear_signals(self, group: str | None = None) -> dict[str, int]:
        """Make the bot skip everything that is waiting, without deleting history.

        Exactly: every entry pending for the group is acknowledged (XACK; a bot executing one right now
        still finishes it), and the group's last-delivered id is moved to the end of the stream (XGROUP
        SETID ... $), so entries not delivered yet are never delivered. When the group does not exist yet
        it is created at the end of the stream, so a bot started later skips the existing entries too.
        The stream itself, other groups, the dead letters and the stoplosses are left alone. Returns how
        many entries were acknowledged and how many undelivered ones were skipped.
        """
        group = group or self.group
        with self._talking():
            info = self._group_info(group)
            if info is None:
                skipped = self._redis.xlen(self.stream)
                self._redis.xgroup_create(self.stream, group, id="$", mkstream=True)
                return {"acknowledged": 0, "skipped_undelivered": skipped}
            acknowledged = 0
            while True:
                rows = self._redis.xpending_range(self.stream, group, "-", "+", 1000)
                if not rows:
                    break
                acknowledged += self._redis.xack(self.stream, group, *[r["message_id"] for r in rows])
            lag = info.get("lag")
            skipped = lag if isinstance(lag, int) else len(self._undelivered(info, 100_000))
            self._redis.xgroup_setid(self.stream, group, "$")
        return {"acknowledged": acknowledged, "skipped_undelivered": skipped}


def _pair_of(fields: Mapping[bytes, bytes]) -> str | None:
    """The pair an entry is about, if it can be read at all (status must not fail on a bad entry)."""
    try:
        decoded = decode_entry(fields, max_bytes=1 << 20)
        data = decoded if isinstance(decoded, dict) else json.loads(decoded)
    except Exception:
        return None
    pair = data.get("pair") if isinstance(data, dict) else None
    return pair if isinstance(pair, str) else None
