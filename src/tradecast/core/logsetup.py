"""Logging setup: one concise line per event, to stderr, UTC timestamps."""

from __future__ import annotations

import logging
import sys
import time


class _UtcFormatter(logging.Formatter):
    converter = time.gmtime


def setup_logging(verbosity: int = 0, extra_handlers: tuple[logging.Handler, ...] = ()) -> None:
    """Configure the root logger once: INFO by default, DEBUG with ``verbosity >= 1``.

    Noisy libraries (ccxt, urllib3, asyncio, websockets, uvicorn access) are kept at WARNING unless
    ``verbosity >= 2``.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_UtcFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    root.addHandler(handler)
    for extra in extra_handlers:
        root.addHandler(extra)
    root.setLevel(logging.DEBUG if verbosity >= 1 else logging.INFO)
    quiet = logging.DEBUG if verbosity >= 2 else logging.WARNING
    for name in ("ccxt", "urllib3", "asyncio", "websockets", "uvicorn.error", "uvicorn.access", "httpx"):
        logging.getLogger(name).setLevel(quiet)
