"""Database opening: SQLite settings, and errors translated into one-line PersistenceError messages."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from tradecast.core.errors import PersistenceError
from tradecast.persistence import Database, TradeRepository


def test_sqlite_creates_parent_dir_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "bot.sqlite"
    db = Database(f"sqlite:///{path}")
    try:
        assert path.exists()
        with db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert TradeRepository(db).get_state("schema_version") == "1"
    finally:
        db.close()


def test_in_memory_database_works(tmp_path: Path) -> None:
    db = Database("sqlite://")
    try:
        repo = TradeRepository(db)
        repo.set_state("a", "b")
        assert repo.get_state("a") == "b"
    finally:
        db.close()


def test_read_only_sqlite_is_reported_at_open(tmp_path: Path) -> None:
    path = tmp_path / "ro.sqlite"
    Database(f"sqlite:///{path}").close()
    # mode=ro makes SQLite refuse writes even for root (a chmod would not stop root)
    with pytest.raises(PersistenceError) as info:
        Database(f"sqlite:///file:{path}?mode=ro&uri=true")
    message = str(info.value)
    assert f"database {path} is read-only" in message
    assert "\n" not in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_file_permissions_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    Database(f"sqlite:///{path}").close()
    path.chmod(0o444)
    with pytest.raises(PersistenceError, match="read-only"):
        Database(f"sqlite:///{path}")


def test_unreachable_server_names_url_with_masked_password() -> None:
    with pytest.raises(PersistenceError) as info:
        Database("postgresql+psycopg://bot:s3cret-pw@127.0.0.1:1/trades?connect_timeout=2")
    message = str(info.value)
    assert message.startswith("cannot connect to database postgresql+psycopg://bot:***@127.0.0.1:1/trades")
    assert "s3cret-pw" not in message and "\n" not in message


def test_invalid_url() -> None:
    with pytest.raises(PersistenceError, match="invalid database url"):
        Database("not a url")


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tradesv3.sqlite"
    with sqlite3.connect(path) as conn:  # a freqtrade-like file with its own trades table
        conn.execute("CREATE TABLE trades (id INTEGER PRIMARY KEY, pair TEXT)")
    with pytest.raises(PersistenceError, match="table 'trades' without the columns stake_currency"):
        Database(f"sqlite:///{path}")


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/v.sqlite"
    db = Database(url)
    TradeRepository(db).set_state("schema_version", "99")
    db.close()
    with pytest.raises(PersistenceError, match="schema version 99"):
        Database(url)


def test_closed_database_raises(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/c.sqlite")
    db.close()
    db.close()
    with pytest.raises(PersistenceError, match="closed"):
        TradeRepository(db).get_state("x")
