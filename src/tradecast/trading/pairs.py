"""Blacklist matching: exact pairs, or regular expressions such as ``BNB/.*`` (freqtrade's wildcard style)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

_PAIR = re.compile(r"^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)?$")
#: groups, braces and stacked quantifiers are what makes a regex backtrack exponentially (a DoS through the API)
_RISKY_PATTERN = re.compile(r"[(){}]|[*+?]\s*[*+?]")
_PATTERN_CHARS = frozenset("*.[]^$+?()|{}\\")


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def blacklisted(pair: str, entries: Iterable[str]) -> bool:
    """True when ``pair`` equals an entry or fully matches an entry that is a pattern."""
    for entry in entries:
        if entry == pair:
            return True
        if _PATTERN_CHARS.intersection(entry):
            compiled = _compiled(entry)
            if compiled is not None and compiled.fullmatch(pair):
                return True
    return False


def blacklist_entry_problem(entry: object, current: Iterable[str]) -> str | None:
    """Why ``entry`` cannot be added to the blacklist ``current``, or None when it can."""
    if not isinstance(entry, str) or not entry:
        return "blacklist entries must be non-empty strings"
    if entry in current:
        return f"{entry} is already blacklisted"
    if len(entry) > 64 or _RISKY_PATTERN.search(entry):
        return (f"{entry}: only simple patterns such as BNB/.* or .*/BTC are allowed "
                "(no groups, repetition braces or stacked quantifiers)")
    if not _PAIR.match(entry) and _compiled(entry) is None:
        return f"{entry} is neither a pair (BASE/QUOTE) nor a valid pattern"
    return None
