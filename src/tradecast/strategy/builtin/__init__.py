"""Strategies shipped with tradecast; ``load_strategy`` finds the IStrategy subclasses of these modules."""
