"""The trading engine: turns analysed candles, tickers and operator commands into orders and trades.

It owns the open trades (in memory, written through to the database on every change), the pair locks, the
blacklist and the entry switch. Everything that changes money runs under one asyncio lock, so two pairs
analysed at the same moment cannot both take the last trade slot or the same quote currency.

Rules that say no raise :class:`~tradecast.core.errors.TradeRejected` with the reason; the engine's own
signal-driven paths catch it and log it at debug level, operator commands (force entry/exit, external signals)
pass it to the caller.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tradecast.core.errors import TradeRejected
from tradecast.core.timeframes import last_closed_candle_open, timeframe_to_seconds
from tradecast.model import Order, PairLock, SignalRecord, Trade
from tradecast.trading.events import EventListener, trade_event
from tradecast.trading.exits import Signals, call_strategy, evaluate_exit, update_stop
from tradecast.trading.pairs import blacklist_entry_problem, blacklisted
from tradecast.trading.rules.paper import price_for_side
from tradecast.trading.rules.stake import stake_for_entry

log = logging.getLogger("tradecast.trading")


@dataclass(frozen=True, slots=True)
class WalletView:
    """Quote-currency balances derived from the trades (never accumulated, so they cannot drift)."""

    starting_balance: float
    closed_profit: float
    realized_open_profit: float
    used: float  # open_trade_value of open trades (includes pending entry orders)

    @property
    def free(self) -> float:
        return self.starting_balance + self.closed_profit + self.realized_open_profit - self.used

    @property
    def total(self) -> float:
        return self.free + self.used


class TradingEngine:
    """Entries, exits, orders, locks and the wallet of one bot."""

    def __init__(self, *, config: Any, strategy: Any, market: Any, broker: Any, db: Any, repo: Any,
                 listeners: Iterable[EventListener] = ()) -> None:
        self.config = config
        self.strategy = strategy
        self.market = market
        self.broker = broker
        self.db = db
        self.repo = repo
        self.clock = market.clock
        self.listeners: list[EventListener] = list(listeners)
        self.stake_currency: str = config.stake_currency
        self.open_trades: dict[int, Trade] = {}
        self.locks: list[PairLock] = []
        self.closed_profit = 0.0
        self.whitelist: list[str] = []
        self.blacklist: list[str] = list(config.exchange.pair_blacklist)
        self.entries_enabled = True
        self.signals: dict[str, Signals] = {}
        self._lock = asyncio.Lock()

    # ----------------------------------------------------------------- state
    async def load(self) -> None:
        """Resume from the database: open trades, closed profit and active locks."""
        trades = await self.db.run(self.repo.open_trades)
        self.open_trades = {t.id: t for t in trades}
        closed = await self.db.run(self.repo.trades, is_open=False)
        self.closed_profit = math.fsum(t.close_profit_abs or 0.0 for t in closed)
        self.locks = await self.db.run(self.repo.locks, active_only=True, now=self.clock.now())
        if trades:
            log.info("resumed %d open trade(s): %s", len(trades), ", ".join(f"#{t.id} {t.pair}" for t in trades))

    def wallet(self) -> WalletView:
        """The quote-currency wallet as the trades say it is."""
        trades = list(self.open_trades.values())
        return WalletView(
            starting_balance=float(self.config.dry_run_wallet),
            closed_profit=self.closed_profit,
            realized_open_profit=math.fsum(t.realized_profit for t in trades),
            used=math.fsum(t.open_trade_value for t in trades),
        )

    def trade_for(self, pair: str) -> Trade | None:
        return next((t for t in self.open_trades.values() if t.pair == pair), None)

    def is_blacklisted(self, pair: str) -> bool:
        return blacklisted(pair, self.blacklist)

    def is_locked(self, pair: str, now: datetime | None = None) -> PairLock | None:
        now = now or self.clock.now()
        return next((lk for lk in self.locks if lk.pair in (pair, "*") and lk.is_active(now)), None)

    def _emit(self, kind: str, payload: dict[str, Any]) -> None:
        for listener in self.listeners:
            try:
                listener(kind, payload)
            except Exception:  # a listener must never break trading
                log.exception("event listener failed for %s", kind)

    async def _save(self, trade: Trade, signal: SignalRecord | None = None) -> None:
        if signal is None:
            await self.db.run(self.repo.save_trade, trade)
        else:
            # the repository links the signal to the trade's new id inside the same transaction
            await self.db.run(self.repo.commit, trades=[trade], signals=[signal])

    # ------------------------------------------------------------- analysis
    async def on_analyzed(self, pair: str, signals: Signals) -> None:
        """React to a freshly analysed candle of ``pair``: exit an open trade, or enter a new one."""
        self.signals[pair] = signals
        now = self.clock.now()
        trade = self.trade_for(pair)
        if trade is not None:
            await self._manage_trade(trade, now)
            return
        if not signals.enter:
            return
        if signals.candle_date is not None and self._is_stale(signals.candle_date, now):
            log.debug("%s: entry signal on candle %s is outdated, ignored", pair, signals.candle_date)
            return
        try:
            await self.enter(pair, enter_tag=signals.enter_tag, reason="signal")
        except TradeRejected as exc:
            log.debug("%s: entry signal not taken: %s", pair, exc)

    def _is_stale(self, candle_date: datetime, now: datetime) -> bool:
        timeframe = self.strategy.timeframe
        newest_closed = last_closed_candle_open(now, timeframe)
        return candle_date < newest_closed - timedelta(seconds=timeframe_to_seconds(timeframe))

    async def manage(self) -> None:
        """One pass over every open trade: order fills and timeouts, stoploss, ROI and exit rules."""
        now = self.clock.now()
        for trade in list(self.open_trades.values()):
            try:
                await self._manage_trade(trade, now)
            except TradeRejected as exc:
                log.debug("%s: exit not taken: %s", trade.pair, exc)
            except Exception as exc:  # keep managing the other trades
                log.warning("#%s %s: could not be managed this round: %s", trade.id, trade.pair, exc)

    async def _manage_trade(self, trade: Trade, now: datetime) -> None:
        if trade.has_open_orders:
            await self._check_orders(trade, now)
            return
        ticker = await self.market.fetch_ticker(trade.pair)
        rate = ticker.bid
        before = (trade.stop_loss, trade.max_rate, trade.min_rate)
        update_stop(trade, rate, now, self.strategy)
        decision = evaluate_exit(trade, rate, now, self.strategy, self.signals.get(trade.pair, Signals()))
        if decision is None:
            if (trade.stop_loss, trade.max_rate, trade.min_rate) != before:
                await self._save(trade)  # a trailed stop must survive a restart
            return
        try:
            await self.exit(trade, decision.reason, detail=decision.detail)
        except TradeRejected as exc:
            log.debug("%s: exit (%s) not taken: %s", trade.pair, decision.reason, exc)

    # ---------------------------------------------------------------- entry
    async def enter(self, pair: str, *, enter_tag: str | None = None, reason: str = "signal",
                    forced: bool = False, price: float | None = None, order_type: str | None = None,
                    stake_amount: float | None = None, signal: SignalRecord | None = None) -> Trade:
        """Open a trade on ``pair`` or raise :class:`TradeRejected` saying why not."""
        async with self._lock:
            return await self._enter_locked(pair, enter_tag=enter_tag, reason=reason, forced=forced,
                                            price=price, order_type=order_type, stake_amount=stake_amount,
                                            signal=signal)

    def _check_entry_allowed(self, pair: str, forced: bool, now: datetime,
                             markets: dict[str, Any] | None = None) -> None:
        if not forced and not self.entries_enabled:
            raise TradeRejected("entries are stopped (stopentry); reload the config to resume")
        if pair not in (self.market.markets() if markets is None else markets):
            raise TradeRejected(f"pair {pair} is not traded on {self.market.name}")
        if self.is_blacklisted(pair):
            raise TradeRejected(f"pair {pair} is blacklisted")
        lock = self.is_locked(pair, now)
        if lock is not None:
            raise TradeRejected(f"pair {pair} is locked until {lock.lock_end_time:%Y-%m-%d %H:%M:%S} "
                                f"({lock.reason or 'no reason'})")
        if self.trade_for(pair) is not None:
            raise TradeRejected(f"a trade for {pair} is already open")
        max_open = int(self.config.max_open_trades)
        if max_open >= 0 and len(self.open_trades) >= max_open:
            raise TradeRejected(f"max_open_trades ({max_open}) reached")

    async def _enter_locked(self, pair: str, *, enter_tag: str | None, reason: str, forced: bool,
                            price: float | None, order_type: str | None, stake_amount: float | None,
                            signal: SignalRecord | None) -> Trade:
        now = self.clock.now()
        # one markets() lookup per entry (the sim market builds the dict on every call; signals perf work)
        markets = self.market.markets()
        self._check_entry_allowed(pair, forced, now, markets)
        info = markets[pair]
        order_types = self.strategy.order_types or {}
        if price is not None and order_type == "market":
            order_type = "limit"  # a market order fills at the ask whatever the price: size and fill must agree
        entry_type = order_types.get("entry", "limit")
        order_type = order_type or (order_types.get("force_entry", entry_type) if forced else entry_type)
        if price is not None:
            order_type = "limit"
        if order_type not in ("market", "limit"):
            raise TradeRejected(f"order type must be market or limit, got {order_type!r}")
        ticker = await self.market.fetch_ticker(pair)
        if price is not None and price <= 0:
            raise TradeRejected(f"price must be positive, got {price}")
        rate = price or (ticker.ask if order_type == "market" else
                         price_for_side(self.config.entry_pricing.price_side, "buy", ticker))
        fee = self.broker.fee_for(pair) if hasattr(self.broker, "fee_for") else info.fee
        wallet = self.wallet()
        decision = stake_for_entry(
            stake_amount_cfg=self.config.stake_amount if stake_amount is None else stake_amount,
            free_quote=wallet.free,
            total_quote=wallet.total,
            open_trades_count=len(self.open_trades),
            max_open_trades=int(self.config.max_open_trades),
            fee=fee,
            min_cost=info.min_cost,
            tradable_balance_ratio=float(self.config.tradable_balance_ratio),
            available_capital=self.config.available_capital,
            realized_profit=wallet.closed_profit + wallet.realized_open_profit,
        )
        if decision.stake is None:
            raise TradeRejected(f"no stake for {pair}: {decision.reason}")
        stake = decision.stake
        custom = call_strategy(self.strategy, "custom_stake_amount", stake, pair=pair, current_time=now,
                               current_rate=rate, proposed_stake=stake, min_stake=info.min_cost or 0.0,
                               max_stake=stake, leverage=1.0, entry_tag=enter_tag, side="long")
        if isinstance(custom, int | float) and 0 < custom <= stake:
            stake = float(custom)
        amount = _round_down(stake / rate, info.amount_precision)
        if amount <= 0:
            raise TradeRejected(f"stake {stake:.8g} is too small to buy any {pair} at {rate:.8g}")
        confirmed = call_strategy(self.strategy, "confirm_trade_entry", True, pair=pair, order_type=order_type,
                                  amount=amount, rate=rate, time_in_force="GTC", current_time=now,
                                  entry_tag=enter_tag, side="long")
        if not confirmed:
            raise TradeRejected("confirm_trade_entry returned False")
        order = await self.broker.place(pair, "buy", order_type, amount, rate, is_entry=True, tag=enter_tag)
        fill_rate = order.average if order.status == "closed" and order.average else rate
        trade = Trade(pair=pair, stake_currency=self.stake_currency, amount=amount, amount_requested=amount,
                      open_rate=fill_rate, open_rate_requested=rate, open_date=order.order_filled_date or now,
                      fee_open=fee, fee_close=fee,
                      strategy=type(self.strategy).__name__, timeframe=self.strategy.timeframe,
                      exchange=self.market.name, enter_tag=enter_tag, orders=[order])
        self._set_initial_stop(trade)
        await self._save(trade, signal)
        self.open_trades[trade.id] = trade
        log.info("ENTER #%s %s (%s%s): %s %s %.8g @ %.8g, stake %.2f %s", trade.id, pair, reason,
                 f", tag={enter_tag}" if enter_tag else "", order_type, "filled" if not order.is_open else "placed",
                 amount, fill_rate, trade.stake_amount, self.stake_currency)
        self._emit("entry", trade_event("entry", trade, order, rate))
        if not order.is_open:
            self._emit("entry_fill", trade_event("entry_fill", trade, order, rate))
        return trade

    def _set_initial_stop(self, trade: Trade) -> None:
        stop = trade.open_rate * (1 + float(self.strategy.stoploss))
        trade.stop_loss = trade.initial_stop_loss = stop
        trade.stop_loss_pct = trade.initial_stop_loss_pct = float(self.strategy.stoploss)
        trade.max_rate = trade.min_rate = trade.open_rate

    # ----------------------------------------------------------------- exit
    async def exit(self, trade: Trade, reason: str, *, detail: str = "", order_type: str | None = None,
                   amount: float | None = None, forced: bool = False, signal: SignalRecord | None = None,
                   price: float | None = None) -> Trade:
        """Sell ``amount`` (default: all) of ``trade``; raises :class:`TradeRejected` when not possible."""
        async with self._lock:
            if trade.id not in self.open_trades:
                raise TradeRejected(f"trade {trade.id} is not open")
            if trade.has_open_orders:
                raise TradeRejected(f"trade {trade.id} has an open order; wait for it or cancel it")
            now = self.clock.now()
            order_types = self.strategy.order_types or {}
            if order_type is None:
                key = "stoploss" if "stop_loss" in reason else ("force_exit" if forced else "exit")
                order_type = order_types.get(key, order_types.get("exit", "limit"))
            if order_type not in ("market", "limit"):
                raise TradeRejected(f"order type must be market or limit, got {order_type!r}")
            if amount is not None and not 0 < amount <= trade.amount:
                raise TradeRejected(f"amount must be between 0 and {trade.amount:.8g}, got {amount}")
            amount = trade.amount if amount is None or math.isclose(amount, trade.amount) else amount
            ticker = await self.market.fetch_ticker(trade.pair)
            rate = price or (ticker.bid if order_type == "market" else
                             price_for_side(self.config.exit_pricing.price_side, "sell", ticker))
            confirmed = call_strategy(self.strategy, "confirm_trade_exit", True, pair=trade.pair, trade=trade,
                                      order_type=order_type, amount=amount, rate=rate, time_in_force="GTC",
                                      exit_reason=reason, current_time=now)
            if not confirmed and not forced:
                raise TradeRejected(f"confirm_trade_exit returned False for {reason}")
            order = await self.broker.place(trade.pair, "sell", order_type, amount, rate, is_entry=False, tag=reason)
            trade.orders.append(order)
            self._emit("exit", trade_event("exit", trade, order, rate))
            if order.is_open:
                trade.exit_reason = reason
                await self._save(trade, signal)
                log.info("EXIT  #%s %s (%s): limit order placed @ %.8g %s", trade.id, trade.pair, reason, rate,
                         detail)
            else:
                await self._finish_exit(trade, order, reason, detail, signal)
            return trade

    async def _finish_exit(self, trade: Trade, order: Order, reason: str, detail: str,
                           signal: SignalRecord | None = None) -> None:
        now = order.order_filled_date or self.clock.now()
        fill_rate = order.average or order.price or 0.0
        if order.filled <= 0:  # the market reported the exit done without a fill: nothing was sold
            await self._order_canceled(trade, order, "closed without a fill")
            return
        if order.filled < trade.amount * (1 - 1e-9):
            realized = trade.reduce(order.filled, fill_rate)
            trade.exit_reason = None
            await self._save(trade, signal)
            log.info("EXIT  #%s %s (%s, partial): %.8g @ %.8g, realised %.4f %s", trade.id, trade.pair, reason,
                     order.filled, fill_rate, realized, self.stake_currency)
        else:
            trade.close(fill_rate, now, reason)
            await self._save(trade, signal)
            self.open_trades.pop(trade.id, None)
            self.closed_profit += trade.close_profit_abs or 0.0
            log.info("EXIT  #%s %s (%s): @ %.8g, profit %.2f%% (%.4f %s) %s", trade.id, trade.pair, reason,
                     fill_rate, (trade.close_profit or 0) * 100, trade.close_profit_abs or 0.0,
                     self.stake_currency, detail)
        self._emit("exit_fill", trade_event("exit_fill", trade, order, fill_rate))

    # --------------------------------------------------------------- orders
    async def _check_orders(self, trade: Trade, now: datetime) -> None:
        async with self._lock:
            for order in [o for o in trade.orders if o.is_open]:
                await self.broker.check(order)
                if not order.is_open:
                    await self._order_filled(trade, order)
                elif self._timed_out(order, now):
                    await self.broker.cancel(order)
                    await self._order_canceled(trade, order, "timeout")

    def _timed_out(self, order: Order, now: datetime) -> bool:
        timeouts = self.config.unfilledtimeout
        limit = timeouts.entry if order.ft_is_entry else timeouts.exit
        unit = 60 if timeouts.unit == "minutes" else 1
        return order.order_date is not None and (now - order.order_date).total_seconds() > limit * unit

    async def _order_filled(self, trade: Trade, order: Order) -> None:
        if order.ft_is_entry:
            trade.open_rate = order.average or trade.open_rate
            trade.amount = order.filled
            self._set_initial_stop(trade)
            await self._save(trade)
            log.info("FILL  #%s %s entry @ %.8g", trade.id, trade.pair, trade.open_rate)
            self._emit("entry_fill", trade_event("entry_fill", trade, order))
        else:
            await self._finish_exit(trade, order, trade.exit_reason or order.ft_order_tag or "exit", "")

    async def _order_canceled(self, trade: Trade, order: Order, why: str) -> None:
        if order.ft_is_entry and order.filled <= 0:
            self.open_trades.pop(trade.id, None)
            await self.db.run(self.repo.delete_trade, trade.id)
            log.info("CANCEL #%s %s entry order (%s): trade removed", trade.id, trade.pair, why)
            self._emit("entry_cancel", trade_event("entry_cancel", trade, order))
            return
        trade.exit_reason = None
        await self._save(trade)
        log.info("CANCEL #%s %s %s order (%s)", trade.id, trade.pair, "entry" if order.ft_is_entry else "exit", why)
        self._emit("exit_cancel" if not order.ft_is_entry else "entry_cancel", trade_event(
            "exit_cancel" if not order.ft_is_entry else "entry_cancel", trade, order))

    async def cancel_open_order(self, trade_id: int) -> Trade:
        """Cancel the open order of a trade (operator command)."""
        trade = self.open_trades.get(trade_id)
        if trade is None:
            raise TradeRejected(f"no open trade with id {trade_id}")
        if not trade.has_open_orders:
            raise TradeRejected(f"trade {trade_id} has no open order")
        async with self._lock:
            for order in [o for o in trade.orders if o.is_open]:
                await self.broker.cancel(order)
                await self._order_canceled(trade, order, "cancelled by operator")
        return trade

    # ------------------------------------------------------------ commands
    async def force_exit(self, trade_id: int | str, order_type: str | None = None,
                         amount: float | None = None, price: float | None = None) -> list[Trade]:
        """Exit one trade by id, or every open trade with ``"all"``."""
        if str(trade_id) == "all":
            targets = list(self.open_trades.values())
        else:
            try:
                trade = self.open_trades.get(int(trade_id))
            except (TypeError, ValueError):
                raise TradeRejected(f"trade id must be a number or 'all', got {trade_id!r}") from None
            if trade is None:
                raise TradeRejected(f"no open trade with id {trade_id}")
            targets = [trade]
        refused: list[str] = []
        for trade in targets:
            try:
                if trade.has_open_orders:
                    # an unfilled entry is simply cancelled (the trade disappears); a pending exit is replaced
                    await self.cancel_open_order(trade.id)  # type: ignore[arg-type]
                if trade.id in self.open_trades:
                    await self.exit(trade, "force_exit", order_type=order_type, amount=amount, forced=True,
                                    price=price)
            except TradeRejected as exc:  # one refusal must not leave the other trades of "all" open
                refused.append(f"#{trade.id} {trade.pair}: {exc}")
        if refused and len(targets) == 1:
            raise TradeRejected(refused[0].split(": ", 1)[1])
        if refused:
            log.warning("force exit: %d trade(s) refused: %s", len(refused), "; ".join(refused))
        return targets

    async def delete_trade(self, trade_id: int) -> bool:
        """Remove a trade from the database (its open orders are cancelled first)."""
        async with self._lock:
            trade = self.open_trades.pop(trade_id, None)
            if trade is not None:
                for order in [o for o in trade.orders if o.is_open]:
                    await self.broker.cancel(order)
            stored = await self.db.run(self.repo.get_trade, trade_id)
            if stored is not None and not stored.is_open:
                self.closed_profit -= stored.close_profit_abs or 0.0
            return bool(await self.db.run(self.repo.delete_trade, trade_id))

    async def lock_pair(self, pair: str, until: datetime, reason: str | None = None, side: str = "*") -> PairLock:
        """Forbid entries on ``pair`` until ``until``."""
        lock = PairLock(pair=pair, lock_time=self.clock.now(), lock_end_time=until, reason=reason, side=side)
        await self.db.run(self.repo.save_lock, lock)
        self.locks.append(lock)
        log.info("LOCK  %s until %s (%s)", pair, until, reason or "no reason")
        return lock

    async def unlock(self, lock_id: int | None = None, pair: str | None = None) -> list[PairLock]:
        """Deactivate locks by id or by pair; returns the deactivated locks."""
        removed = [lk for lk in self.locks if (lock_id is not None and lk.id == lock_id) or
                   (pair is not None and lk.pair == pair)]
        for lock in removed:
            await self.db.run(self.repo.deactivate_lock, lock.id)
            lock.active = False
            self.locks.remove(lock)
        return removed

    def add_blacklist(self, pairs: Iterable[str]) -> dict[str, str]:
        """Add pairs (or regex patterns) to the blacklist; returns {entry: error} for refused ones."""
        errors: dict[str, str] = {}
        for entry in pairs:
            problem = blacklist_entry_problem(entry, self.blacklist)
            if problem:
                errors[str(entry)] = problem
            else:
                self.blacklist.append(entry)
        return errors

    def remove_blacklist(self, pairs: Iterable[str]) -> None:
        for entry in pairs:
            if entry in self.blacklist:
                self.blacklist.remove(entry)

    def last_signals(self, pair: str) -> Signals:
        return self.signals.get(pair, Signals())


def _round_down(amount: float, step: float | None) -> float:
    if not step or step <= 0:
        return amount
    return math.floor(amount / step + 1e-9) * step
