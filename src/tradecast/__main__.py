"""`python -m tradecast` runs the command line."""

from tradecast.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
