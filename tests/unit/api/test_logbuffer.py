"""Log tail for /api/v1/logs and the secret-masking filter."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from tradecast.core.logbuffer import LogBufferHandler, install_secret_mask, mask_secrets, mask_text


def make_logger(name: str, handler: logging.Handler) -> logging.Logger:
    log = logging.getLogger(name)
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG)
    log.propagate = False
    return log


def test_entries_shape_and_limit() -> None:
    handler = LogBufferHandler(capacity=5)
    log = make_logger("tradecast.test.buffer", handler)
    for i in range(8):
        log.info("line %d", i)
    entries = handler.entries()
    assert len(entries) == 5 and entries[0][4] == "line 3" and entries[-1][4] == "line 7"
    date_str, epoch_ms, name, level, message = entries[-1]
    assert name == "tradecast.test.buffer" and level == "INFO" and message == "line 7"
    assert isinstance(epoch_ms, int)
    assert (
        datetime.strptime(date_str, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp() == epoch_ms // 1000
    )
    assert [e[4] for e in handler.entries(2)] == ["line 6", "line 7"]
    assert handler.entries(0) == []


def test_default_capacity_is_1000_and_exceptions_are_kept() -> None:
    handler = LogBufferHandler()
    log = make_logger("tradecast.test.buffer2", handler)
    for i in range(1005):
        log.debug("n%s", i)
    assert len(handler.entries()) == 1000
    try:
        raise ValueError("bad")
    except ValueError:
        log.exception("failed")
    assert "ValueError: bad" in handler.entries(1)[0][4]


def test_threads_append_safely() -> None:
    handler = LogBufferHandler(capacity=10_000)
    log = make_logger("tradecast.test.buffer3", handler)

    def work() -> None:
        for i in range(500):
            log.info("x %d", i)
            handler.entries(3)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(handler.entries()) == 2000


def test_mask_text() -> None:
    assert mask_text("GET /api/v1/message/ws?token=abc.def&x=1 HTTP/1.1") == (
        "GET /api/v1/message/ws?token=***&x=1 HTTP/1.1"
    )
    assert mask_text("ws_token=s3cret done") == "ws_token=*** done"
    assert mask_text("url 'http://h/?token=abc'") == "url 'http://h/?token=***'"
    assert mask_text("Authorization: Bearer eyJabc.def") == "Authorization: Bearer ***"
    assert mask_text("{'authorization': 'Basic dXNlcjpwYXNz'}") == "{'authorization': 'Basic ***'}"
    assert mask_text("nothing to see") == "nothing to see"


def test_filter_masks_args_and_keeps_tuple_args() -> None:
    handler = LogBufferHandler()
    log = make_logger("tradecast.test.mask", handler)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    log.addHandler(Keep())
    install_secret_mask(log)
    install_secret_mask(log)
    assert log.filters.count(mask_secrets) == 1
    log.info('%s - "%s %s HTTP/%s" %d', "1.2.3.4:5", "GET", "/ws?token=topsecret", "1.1", 101)
    assert isinstance(records[-1].args, tuple)  # uvicorn's access formatter unpacks these
    assert "topsecret" not in records[-1].getMessage()
    assert "token=***" in handler.entries(1)[0][4]
    # a secret only visible after formatting is masked as well
    log.info("Authorization%s", ": Bearer abc")
    assert "abc" not in records[-1].getMessage()
