"""Trade database: SQLAlchemy tables, the repository and the one-thread executor.

The only package that imports SQLAlchemy; everything it returns is a ``tradecast.model`` record and every
error it raises is a tradecast error (``PersistenceError``, ``DuplicateSignal``).
"""

from tradecast.persistence.database import Database
from tradecast.persistence.executor import DbExecutor
from tradecast.persistence.repository import DuplicateSignal, TradeRepository

__all__ = ["Database", "DbExecutor", "DuplicateSignal", "TradeRepository"]
