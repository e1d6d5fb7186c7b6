"""Pydantic validation errors as one line per problem: ``<dotted.path>: <what is wrong>, got <value>``.

Values of secret keys are never echoed, and passwords inside URLs are masked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from tradecast.config.masking import MASK, is_secret_key, mask_secrets

__all__ = ["format_path", "problem_lines"]

_MAX_VALUE_CHARS = 80

Loc = tuple[str | int, ...]


def format_path(loc: Sequence[str | int]) -> str:
    """``("exchange", "pair_whitelist", 2)`` -> ``exchange.pair_whitelist[2]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


#: pydantic error types whose stock wording talks about Python rather than JSON
_BY_TYPE = {
    "model_type": "must be a JSON object {...}",
    "model_attributes_type": "must be a JSON object {...}",
    "dict_type": "must be a JSON object {...}",
    "list_type": "must be a JSON list [...]",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
}


def _describe(error_type: str, message: str) -> str:
    # pydantic's wording ("Input should be ...") rephrased so it reads after "<path>:"
    if error_type in _BY_TYPE:
        return _BY_TYPE[error_type]
    if message == "Field required":
        return "is required"
    if message.startswith("Input should be "):
        return "must be " + message.removeprefix("Input should be ")
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _render(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return text


def _origin(loc: Loc, origins: Mapping[Loc, str]) -> str | None:
    # the longest prefix of the error location that came from the environment or the command line
    for length in range(len(loc), 0, -1):
        found = origins.get(loc[:length])
        if found:
            return found
    return None


def problem_lines(exc: ValidationError, origins: Mapping[Loc, str] | None = None) -> list[str]:
    """One operator-facing line per validation error; ``origins`` maps a location to where it was set."""
    lines: list[str] = []
    for error in exc.errors():
        loc: Loc = tuple(part for part in error["loc"] if part != "[key]")
        ctx = error.get("ctx") or {}
        if error["type"] == "tradecast":
            loc += tuple(ctx.get("at", ()))
            message = str(ctx["message"])
            value = ctx.get("got", error.get("input"))
        else:
            message = _describe(error["type"], error["msg"])
            value = error.get("input")
        line = f"{format_path(loc)}: {message}"
        if error["type"] != "missing":
            str_keys = [part for part in loc if isinstance(part, str)]
            if any(is_secret_key(part) for part in str_keys):
                shown = MASK
            else:
                shown = _render(mask_secrets(value, str_keys[-1] if str_keys else None))
            line += f", got {shown}"
        where = _origin(loc, origins or {})
        if where:
            line += f" (from {where})"
        if line not in lines:
            lines.append(line)
    return lines
