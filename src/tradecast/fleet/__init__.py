"""Producer/consumer fleet: the producer hub and publisher (``hub``, ``producer``) and the consumer side.

Import the modules you need directly (``from tradecast.fleet.hub import ProducerHub``); this package
imports nothing itself, so each part stays optional.
"""
