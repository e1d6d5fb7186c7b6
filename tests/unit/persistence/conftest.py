"""Fixtures: a database URL for SQLite (file in tmp_path) and for PostgreSQL (a throw-away schema)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tradecast.model import Order, Trade
from tradecast.persistence import Database, TradeRepository

PG_CONNINFO = "host=127.0.0.1 port=5432 dbname=test user=postgres connect_timeout=2"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_unavailable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_CONNINFO):
            return None
    except Exception as exc:  # any failure means: skip, and say why
        return f"PostgreSQL at 127.0.0.1:5432 (db test, user postgres) does not answer: {exc}".splitlines()[0]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """One throw-away schema for the session; each test empties it afterwards (faster than one per test)."""
    reason = _pg_unavailable()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"tc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        # every connection of a Database on this URL sees only the fresh schema
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _empty_pg_schema(url: str) -> None:
    import psycopg

    schema = url.rsplit("%3D", 1)[1]
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        names = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        )]
        if names:
            tables = ", ".join(f"{schema}.{name}" for name in names)
            conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/data/trades.sqlite"
        return
    url = request.getfixturevalue("pg_url")
    try:
        yield url
    finally:
        _empty_pg_schema(url)


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    yield db
    db.close()


@pytest.fixture
def repo(database: Database) -> TradeRepository:
    return TradeRepository(database)


T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def new_trade(pair: str = "BTC/USDT", *, amount: float = 0.5, rate: float = 20000.0, **changes) -> Trade:
    """A filled long trade with one entry order; ``changes`` override fields."""
    trade = Trade(
        pair=pair,
        stake_currency="USDT",
        amount=amount,
        open_rate=rate,
        open_date=T0,
        fee_open=0.001,
        fee_close=0.001,
        strategy="SampleStrategy",
        timeframe="5m",
    )
    trade.orders.append(
        Order(pair=pair, order_id=f"o-{uuid.uuid4().hex[:8]}", side="buy", order_type="market",
              amount=amount, price=rate, status="closed", filled=amount, average=rate, order_date=T0)
    )
    for key, value in changes.items():
        setattr(trade, key, value)
    return trade


@pytest.fixture
def make_trade():
    return new_trade
