"""Process-wide settings a bot makes once, after start-up."""

from __future__ import annotations

import gc

__all__ = ["freeze_startup_objects"]

_frozen = False


def freeze_startup_objects() -> bool:
    """Move every object that exists now (modules, classes, config: the bot as built) out of the collector.

    A full collection walks every tracked object while holding the GIL, so it stalls the event loop for as
    long as it takes: with pandas, pydantic and the rest imported that was 40-80 ms on two cores, the worst
    stall of an analysis pass. What exists once a bot has started lives as long as the process, so leaving it
    out of those walks loses nothing; later collections only walk what the bot creates while it runs. Once per
    process (freezing again would keep later cyclic garbage forever); returns whether this call froze.
    """
    global _frozen
    if _frozen:
        return False
    _frozen = True
    gc.freeze()
    return True
