"""In-memory log tail for ``GET /api/v1/logs`` and a filter that keeps secrets out of every log line.

* :class:`LogBufferHandler` keeps the newest records (1000 by default) in a bounded deque. Appending is O(1)
  and older records fall off the front; :meth:`LogBufferHandler.entries` returns them in freqtrade's
  ``[date, epoch_ms, logger, level, message]`` shape.
* :func:`mask_secrets` is a logging filter (any callable works as one since Python 3.2) that rewrites a
  record so that ``token=...`` query values and ``Authorization: ...`` header values read ``***``. Tokens
  travel in query strings (the message websocket takes ``?token=``), so uvicorn's access log would
  otherwise write them to disk. :func:`install_secret_mask` attaches it idempotently.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from datetime import UTC, datetime

__all__ = ["LogBufferHandler", "install_secret_mask", "mask_secrets", "mask_text"]

#: ``token=`` (also ``ws_token=``, ``access_token=``) up to the next ``&``, blank or quote
_TOKEN_RE = re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE)
#: ``Authorization: Bearer x`` / ``'authorization': 'Basic x'``; the scheme word is kept, the value is not
_AUTH_RE = re.compile(
    r"(authorization[\"']?\s*[:=]\s*[\"']?)(?:(basic|bearer|token)\s+)?[^\s\"',;}]+",
    re.IGNORECASE,
)


def mask_text(text: str) -> str:
    """Return ``text`` with token query values and Authorization header values replaced by ``***``."""
    if "oken=" not in text and "uthorization" not in text.lower():
        return text  # fast path: almost every log line has neither
    text = _TOKEN_RE.sub(r"\1***", text)
    return _AUTH_RE.sub(lambda m: m.group(1) + (m.group(2) + " " if m.group(2) else "") + "***", text)


def mask_secrets(record: logging.LogRecord) -> bool:
    """Logging filter: mask secrets in ``record`` in place and always keep the record.

    The format string and each string argument are masked separately so that formatters which read
    ``record.args`` (uvicorn's access formatter unpacks them) keep working. If a secret only appears once
    the message is assembled (split between format and arguments), the record is collapsed into its masked
    final text.
    """
    if isinstance(record.msg, str):
        record.msg = mask_text(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(mask_text(a) if isinstance(a, str) else a for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: mask_text(v) if isinstance(v, str) else v for k, v in record.args.items()}
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        return True  # a broken format string is the logging module's problem to report, not ours
    masked = mask_text(message)
    if masked != message:
        record.msg, record.args = masked, None
    return True


def install_secret_mask(target: logging.Logger | logging.Handler) -> None:
    """Attach :func:`mask_secrets` to a logger or handler once (calling it again is harmless)."""
    if mask_secrets not in target.filters:
        target.addFilter(mask_secrets)


class LogBufferHandler(logging.Handler):
    """Keeps the last ``capacity`` log records, masked, for the REST API's log view.

    ``logging.Handler.handle`` already holds the handler lock around :meth:`emit`; :meth:`entries` takes
    the same lock, so readers on the API thread/loop never see a deque being mutated.
    """

    def __init__(self, capacity: int = 1000, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.capacity = capacity
        # each item: (created epoch seconds, logger name, level name, message)
        self._records: deque[tuple[float, str, str, str]] = deque(maxlen=capacity)
        self.addFilter(mask_secrets)
        if self.lock is None:  # pragma: no cover - createLock() always runs in Handler.__init__
            self.lock = threading.RLock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                message = f"{message}\n{mask_text(record.exc_text)}"
            self._records.append((record.created, record.name, record.levelname, message))
        except Exception:
            self.handleError(record)

    def entries(self, limit: int | None = None) -> list[list[object]]:
        """Newest ``limit`` records (all when ``None``), oldest first, as
        ``[date "%Y-%m-%d %H:%M:%S" (UTC), epoch_ms, logger_name, level_name, message]``."""
        with self.lock:  # type: ignore[union-attr]
            items = list(self._records)
        if limit is not None:
            items = items[-limit:] if limit > 0 else []
        return [
            [
                datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%d %H:%M:%S"),
                int(created * 1000),
                name,
                level,
                message,
            ]
            for created, name, level, message in items
        ]

    def clear(self) -> None:
        """Forget every stored record."""
        with self.lock:  # type: ignore[union-attr]
            self._records.clear()
