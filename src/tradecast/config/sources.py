"""Where config values come from besides the files: deep merging, environment variables, CLI overrides.

Environment variables look like ``TRADECAST__SECTION__KEY=value``: ``__`` separates levels, each level is
matched case-insensitively against the known field names (then against keys already in the config), a
number selects a list entry (``TRADECAST__EXTERNAL_MESSAGE_CONSUMER__PRODUCERS__0__WS_TOKEN``). Values are
parsed as JSON when they parse (``50``, ``true``, ``["BTC/USDT"]``), else kept as strings; a field that
holds text always gets the raw text, so ``PASSWORD=123456`` stays a string. A JSON object merges into the
section it replaces. Variables apply in sorted order, so ``..._API_SERVER__ENABLED`` beats ``..._API_SERVER``.
"""

from __future__ import annotations

import copy
import json
import types
import typing
from collections.abc import Mapping
from typing import Any, Union

from pydantic import BaseModel

from tradecast.core.errors import ConfigError

__all__ = ["ENV_PREFIX", "apply_env", "apply_overrides", "deep_merge", "section_model"]

ENV_PREFIX = "TRADECAST__"

Loc = tuple[str | int, ...]


def deep_merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``update`` into a copy of ``base``: dicts merge by key, anything else (lists too) replaces."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _members(annotation: Any) -> tuple[Any, ...]:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return tuple(m for arg in typing.get_args(annotation) for m in _members(arg))
    return (annotation,)


def section_model(annotation: Any) -> type[BaseModel] | None:
    """The model class a field holds, directly, optionally or as list items (``list[ProducerConfig]``)."""
    for member in _members(annotation):
        if typing.get_origin(member) is list:
            args = typing.get_args(member)
            member = args[0] if args else None
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def _accepts_text(annotation: Any) -> bool:
    return any(member is str for member in _members(annotation))


def _field(model: type[BaseModel] | None, key: str) -> Any:
    info = model.model_fields.get(key) if model is not None else None
    return info.annotation if info is not None else None


def _resolve_key(segment: str, node: dict[str, Any], model: type[BaseModel] | None) -> str:
    lowered = segment.lower()
    for name in model.model_fields if model is not None else ():
        if name.lower() == lowered:
            return name
    for name in node:
        if name.lower() == lowered:
            return name
    return lowered


def _parse_env_value(raw: str, annotation: Any) -> Any:
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(value, bool | int | float) and _accepts_text(annotation):
        return raw
    return value


def _set_from_env(
    data: dict[str, Any], root: type[BaseModel], name: str, raw: str, origins: dict[Loc, str]
) -> None:
    segments = name[len(ENV_PREFIX) :].split("__")
    if not all(segments):
        raise ConfigError(f"{name}: empty level name; separate levels with exactly two underscores")
    node: Any = data
    model: type[BaseModel] | None = root
    annotation: Any = None
    loc: list[str | int] = []
    for depth, segment in enumerate(segments):
        last = depth == len(segments) - 1
        key: str | int
        if isinstance(node, list):
            if not segment.isdigit() or int(segment) >= len(node):
                raise ConfigError(f"{name}: {segment!r} is not an index of the {len(node)} list entries")
            key = int(segment)
        else:
            key = _resolve_key(segment, node, model)
            annotation = _field(model, key)
            model = section_model(annotation)
        loc.append(key)
        if last:
            value = _parse_env_value(raw, annotation)
            current = node[key] if isinstance(node, list) else node.get(key)
            # a whole section given as JSON merges into the file's section, like a later file would
            node[key] = (
                deep_merge(current, value) if isinstance(value, dict) and isinstance(current, dict) else value
            )
            break
        child = node[key] if isinstance(node, list) else node.get(key)
        if child is None:
            child = {}
            node[key] = child
        if not isinstance(child, dict | list):
            path = ".".join(str(part) for part in loc)
            raise ConfigError(f"{name}: {path} holds a single value, it has no key {segments[depth + 1]!r}")
        node = child
    origins[tuple(loc)] = f"environment variable {name}"


def apply_env(
    data: dict[str, Any], env: Mapping[str, str], root: type[BaseModel], origins: dict[Loc, str]
) -> dict[str, Any]:
    """Apply each ``TRADECAST__...`` variable of ``env`` to a copy of ``data``; record it in ``origins``."""
    result = copy.deepcopy(data)
    for name in sorted(env):
        if name.startswith(ENV_PREFIX):
            _set_from_env(result, root, name, env[name], origins)
    return result


def apply_overrides(
    data: dict[str, Any], overrides: Mapping[str, Any], origins: dict[Loc, str], label: str = "command line"
) -> dict[str, Any]:
    """Merge ``overrides`` (nested dicts allowed) over ``data``; ``None`` values mean "not given"."""
    cleaned = _drop_none(overrides)
    _record_leaves(cleaned, (), origins, label)
    return deep_merge(data, cleaned)


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _drop_none(value) if isinstance(value, Mapping) else value
        for key, value in values.items()
        if value is not None
    }


def _record_leaves(values: Mapping[str, Any], prefix: Loc, origins: dict[Loc, str], label: str) -> None:
    for key, value in values.items():
        if isinstance(value, Mapping):
            _record_leaves(value, (*prefix, key), origins, label)
        else:
            origins[(*prefix, key)] = label
