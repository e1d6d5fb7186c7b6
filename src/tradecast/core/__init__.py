"""Building blocks with no dependency on the rest of tradecast: errors, clocks, timeframes, backoff."""
