"""Trading: pure rules (ROI, stoploss, stake, wallet, paper fills) and the engine that applies them."""
