"""Loading the effective config: files merged left to right, then the environment, then CLI overrides.

Every failure is a :class:`~tradecast.core.errors.ConfigError` (exit code 2) whose message names the file,
or the key path and the bad value; all validation problems are reported at once.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tradecast.config.jsonc import parse_jsonc
from tradecast.config.messages import problem_lines
from tradecast.config.models import Config
from tradecast.config.sources import apply_env, apply_overrides, deep_merge, section_model
from tradecast.core.errors import ConfigError

__all__ = ["ConfigValidationError", "load_config", "read_config_file"]

logger = logging.getLogger("tradecast.config")

Loc = tuple[str | int, ...]


class ConfigValidationError(ConfigError):
    """The merged config has invalid values; ``problems`` lists ``<path>: <message>, got <value>`` lines."""

    def __init__(self, problems: list[str], sources: list[str]) -> None:
        self.problems = problems
        where = f" [config: {', '.join(sources)}]" if sources else ""
        if len(problems) == 1:
            message = f"{problems[0]}{where}"
        else:
            listed = "\n".join(f"  {line}" for line in problems)
            message = f"{len(problems)} problems in the config{where}:\n{listed}"
        super().__init__(message)


def read_config_file(path: str | Path, *, allow_trailing_commas: bool = True) -> dict[str, Any]:
    """Read one JSON-with-comments config file; it must hold a JSON object.

    Trailing commas before ``}`` or ``]`` are accepted by default, as freqtrade's config parser accepts
    them: a freqtrade user's config file must load unchanged.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # tolerate a BOM
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {source}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot read config file {source}: {reason}") from None
    data = parse_jsonc(text, source, allow_trailing_commas=allow_trailing_commas)
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ConfigError(f"{source}: a config file must hold a JSON object {{...}}, got {kind}")
    return data


def load_config(
    paths: Iterable[str | Path],
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Build the effective :class:`Config`.

    ``paths`` are merged left to right (later files win; nested objects merge, lists replace), then
    ``TRADECAST__SECTION__KEY`` variables from ``env`` (default ``os.environ``) apply, then ``overrides``
    (values from command-line flags; ``None`` means "flag not given"). Keys tradecast does not implement
    are logged once as a warning and kept in ``config.extras``.
    """
    if isinstance(paths, str | Path):
        paths = [paths]  # one path given where a list was expected: not a list of characters
    sources = [str(path) for path in paths]
    data: dict[str, Any] = {}
    for path in sources:
        data = deep_merge(data, read_config_file(path))
    origins: dict[Loc, str] = {}
    data = apply_env(data, os.environ if env is None else env, Config, origins)
    if overrides:
        data = apply_overrides(data, overrides, origins)
    try:
        config = Config.model_validate(data, context={"source_files": sources})
    except ValidationError as exc:
        raise ConfigValidationError(problem_lines(exc, origins), sources) from None
    if config.unknown_keys:
        logger.warning(
            "ignoring %d config key(s) tradecast does not implement: %s",
            len(config.unknown_keys),
            ", ".join(_with_hint(path) for path in config.unknown_keys),
        )
    return config


_INDEX = re.compile(r"\[\d+\]")


def _with_hint(path: str) -> str:
    # a near-miss of a key we do know is most likely a typo worth pointing out
    *parents, leaf = _INDEX.sub("", path).split(".")
    model: type[BaseModel] | None = Config
    for name in parents:
        info = model.model_fields.get(name) if model is not None else None
        model = section_model(info.annotation) if info is not None else None
    if model is None:
        return path
    close = difflib.get_close_matches(leaf, list(model.model_fields), n=1, cutoff=0.8)
    return f"{path} (did you mean {close[0]}?)" if close else path
