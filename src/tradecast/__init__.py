"""tradecast: trading bots that share their analysis (freqtrade-compatible producer/consumer)."""

__version__ = "0.1.0"

__all__ = ["__version__"]
