"""Test hooks of the signals package (inactive unless their environment variable is set)."""

from __future__ import annotations

import logging
import os

log = logging.getLogger("tradecast.signals.ingester")

#: test hook: the environment variable that makes the process die between the trade commit and the XACK
CRASH_ENV = "TRADECAST_TEST_CRASH_AFTER_COMMIT"


def crash_after_commit(signal_id: str, status: str) -> None:
    """TEST HOOK, not for production: simulate a crash after ``execute`` committed and before the XACK.

    With ``TRADECAST_TEST_CRASH_AFTER_COMMIT=1`` the process exits (``os._exit(137)``, like SIGKILL: no
    cleanup, no acknowledgement) after the first executed signal; with a signal id as the value, after
    that signal only. Lets the integration tests prove exactly-once delivery at the worst moment.
    """
    wanted = os.environ.get(CRASH_ENV)
    if wanted and status == "executed" and wanted in ("1", signal_id):
        log.critical("external signals: %s=%s, exiting before acknowledging %s", CRASH_ENV, wanted, signal_id)
        logging.shutdown()
        os._exit(137)
