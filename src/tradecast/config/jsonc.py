"""JSON with comments, as freqtrade config files are written: ``//`` line and ``/* */`` block comments.

Comments are blanked out (replaced by spaces, newlines kept) instead of removed, so the line and column that
:mod:`json` reports for a syntax error still point into the original text. Comment markers inside strings
(``"http://host"``) are left alone. A trailing comma before ``}`` or ``]`` is reported with its position
unless ``allow_trailing_commas`` is set.
"""

from __future__ import annotations

import json
from typing import Any

from tradecast.core.errors import ConfigError

__all__ = ["parse_jsonc", "strip_comments"]


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, col


def strip_comments(text: str, source: str = "<string>") -> str:
    """Return ``text`` with every comment outside strings replaced by spaces (newlines are kept)."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                in_string = False
            i += 1
            continue
        if ch == '"':
            in_string = True
            out.append(ch)
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end == -1 else end
            out.append(" " * (end - i))
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end == -1:
                line, col = _line_col(text, i)
                raise ConfigError(f"{source}:{line}:{col}: unterminated /* comment")
            block = text[i : end + 2]
            # keep newlines so later positions keep their line numbers
            out.append("".join(c if c == "\n" else " " for c in block))
            i = end + 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _trailing_commas(text: str) -> list[int]:
    """Indexes of commas (outside strings) followed only by whitespace and then ``}`` or ``]``."""
    found: list[int] = []
    in_string = False
    last_comma: int | None = None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            last_comma = None
        elif ch == ",":
            last_comma = i
        elif ch in "}]":
            if last_comma is not None:
                found.append(last_comma)
            last_comma = None
        elif not ch.isspace():
            last_comma = None
        i += 1
    return found


def parse_jsonc(text: str, source: str = "<string>", *, allow_trailing_commas: bool = False) -> Any:
    """Parse JSON-with-comments ``text``; errors are :class:`ConfigError` naming ``source:line:col``.

    freqtrade's own parser also accepts trailing commas; pass ``allow_trailing_commas=True`` to do the same.
    """
    clean = strip_comments(text, source)
    commas = _trailing_commas(clean)
    if commas:
        if not allow_trailing_commas:
            line, col = _line_col(clean, commas[0])
            raise ConfigError(
                f"{source}:{line}:{col}: trailing comma before a closing bracket; remove the comma"
            )
        chars = list(clean)
        for index in commas:
            chars[index] = " "
        clean = "".join(chars)
    try:
        return json.loads(clean)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
