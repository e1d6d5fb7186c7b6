"""Build the market a config asks for: the simulated market or a ccxt exchange."""

from __future__ import annotations

from typing import Any

from tradecast.market.base import Market
from tradecast.market.sim import SimMarket


def create_market(exchange_config: Any, dry_run: bool) -> Market:
    """The market for ``exchange_config`` (``config.exchange``: name, key, secret, password, ccxt_config,
    sim).

    ``name == "sim"`` gives a :class:`SimMarket` built from ``exchange_config.sim``; any other name a
    :class:`CcxtMarket` (an unknown name is a ``ConfigError`` listing close names). In dry-run the keys are
    not given to ccxt: paper trading needs public data only, and a stale key must not stop a dry run.
    """
    name = str(getattr(exchange_config, "name", "sim") or "sim").strip().lower()
    if name == "sim":
        sim = getattr(exchange_config, "sim", None)
        return SimMarket(
            seed=getattr(sim, "seed", 42),
            speed=getattr(sim, "speed", 1.0),
            epoch=getattr(sim, "epoch", None),
            extra_pairs=tuple(getattr(sim, "extra_pairs", None) or ()),
            generated_pairs=getattr(sim, "generated_pairs", 500),
            fee=getattr(sim, "fee", 0.001),
            starting_balance=getattr(sim, "starting_balance", None),
        )
    from tradecast.market.ccxt_adapter import CcxtMarket  # imported late: ccxt is slow to import

    private = not dry_run
    return CcxtMarket(
        name,
        key=getattr(exchange_config, "key", "") if private else "",
        secret=getattr(exchange_config, "secret", "") if private else "",
        password=getattr(exchange_config, "password", "") if private else "",
        ccxt_config=dict(getattr(exchange_config, "ccxt_config", None) or {}),
    )
