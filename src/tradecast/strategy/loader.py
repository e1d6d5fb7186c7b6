"""Find strategies by class name and create them.

Search order: the user's strategy directory (``strategy_path`` argument, else ``config.strategy_path``, else
``<config.user_data_dir>/strategies``), then the strategies shipped in ``tradecast.strategy.builtin``, which
are always found by name without any path.

Every user file is compiled first (cheap, runs nothing), so a syntax error is reported with its file and line;
only files that textually define ``class <name>`` are imported, each in isolation under a unique module name.
A broken file that is not the one wanted only produces a warning.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import logging
import pkgutil
import re
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from tradecast.core.errors import ConfigError
from tradecast.strategy.interface import IStrategy

__all__ = ["list_strategies", "load_strategy"]

logger = logging.getLogger(__name__)

BUILTIN_PACKAGE = "tradecast.strategy.builtin"
_module_ids = itertools.count(1)


def _config_value(config: Any, key: str) -> Any:
    if config is None:
        return None
    if isinstance(config, dict):
        return config.get(key)
    return getattr(config, key, None)


def _user_location(config: Any, strategy_path: str | Path | None) -> Path:
    if strategy_path is not None:
        return Path(strategy_path)
    configured = _config_value(config, "strategy_path")
    if configured:
        return Path(configured)
    return Path(_config_value(config, "user_data_dir") or "user_data") / "strategies"


def _strategy_files(location: Path) -> list[Path]:
    if location.is_file():
        return [location]
    if not location.is_dir():
        return []
    return sorted(p for p in location.glob("*.py") if p.is_file() and not p.name.startswith("__"))


def _syntax_problem(path: Path, source: str) -> str | None:
    try:
        compile(source, str(path), "exec")
    except SyntaxError as exc:
        return f"{path} line {exc.lineno}: {exc.msg}"
    except ValueError as exc:  # e.g. null bytes
        return f"{path}: {exc}"
    return None


def _failing_line(path: Path, exc: BaseException) -> int | None:
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    return lines[-1] if lines else None


def _import_file(path: Path) -> ModuleType:
    """Import ``path`` as a fresh module; ConfigError naming the file and line if it fails."""
    stem = re.sub(r"\W", "_", path.stem)
    module_name = f"_tradecast_strategy_{stem}_{next(_module_ids)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"strategy file {path} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        line = _failing_line(path.resolve(), exc) or _failing_line(path, exc)
        where = f"{path} line {line}" if line else str(path)
        raise ConfigError(f"strategy file {where} failed to import: {type(exc).__name__}: {exc}") from exc
    return module


def _strategy_classes(module: ModuleType) -> dict[str, type[IStrategy]]:
    return {
        obj.__name__: obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, IStrategy)
        and obj is not IStrategy
        and _defined_in(obj, module)
    }


def _defined_in(cls: type, module: ModuleType) -> bool:
    """True for classes of this file, not those it imported (classes made with ``type()`` report ``abc``)."""
    return cls.__module__ in (module.__name__, "abc", "builtins")


def _builtin_strategies() -> dict[str, tuple[type[IStrategy], str]]:
    package = importlib.import_module(BUILTIN_PACKAGE)
    found: dict[str, tuple[type[IStrategy], str]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{BUILTIN_PACKAGE}.{info.name}")
        for name, cls in _strategy_classes(module).items():
            found[name] = (cls, str(module.__file__))
    return found


def _instantiate(cls: type[IStrategy], config: Any, source: str) -> IStrategy:
    if getattr(cls, "INTERFACE_VERSION", 3) < 3:
        logger.warning("strategy %s uses interface version %s; only 3 is supported", cls.__name__,
                       cls.INTERFACE_VERSION)
    try:
        strategy = cls(config)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"strategy {cls.__name__} ({source}) could not be created: {exc}") from exc
    logger.info("loaded strategy %s from %s", cls.__name__, source)
    return strategy


def load_strategy(name: str, config: Any, strategy_path: str | Path | None = None) -> IStrategy:
    """Find the ``IStrategy`` subclass called ``name`` and return an instance built with ``config``.

    :param name: the class name, e.g. ``"ProducerStrategy"``.
    :param config: the bot config (attribute or dict access).
    :param strategy_path: a directory (or one .py file) to search instead of the configured one.
    :raises ConfigError: not found (the message lists the available names), the file defining it has a
        syntax or import error (the message names file and line), or the strategy is invalid.
    """
    location = _user_location(config, strategy_path)
    broken: list[str] = []
    candidates: list[Path] = []
    pattern = re.compile(rf"^\s*class\s+{re.escape(name)}\b", re.MULTILINE)
    for path in _strategy_files(location):
        source = path.read_text(encoding="utf-8", errors="replace")
        problem = _syntax_problem(path, source)
        if problem is None:
            if pattern.search(source):
                candidates.append(path)
            continue
        if pattern.search(source):
            raise ConfigError(f"strategy {name}: syntax error in {problem}")
        broken.append(problem)

    for path in candidates:
        cls = _strategy_classes(_import_file(path)).get(name)
        if cls is not None:
            for problem in broken:
                logger.warning("ignoring strategy file with a syntax error: %s", problem)
            return _instantiate(cls, config, str(path))

    builtin = _builtin_strategies().get(name)
    if builtin is not None:
        return _instantiate(builtin[0], config, builtin[1])

    # last resort: classes not written as ``class <name>`` (aliases, factories) in the other files
    found = _scan_user_files(location, skip=candidates, warn=False)
    for found_name, cls, path in found:
        if found_name == name:
            return _instantiate(cls, config, path)

    available = sorted({n for n, _, _ in found} | set(_builtin_strategies()))
    where = f"{location}" + ("" if location.exists() else " (which does not exist)")
    message = (
        f"strategy {name!r} not found in {where} or among the built-in strategies; "
        f"available: {', '.join(available) or 'none'}"
    )
    if broken:
        message += f"; files with syntax errors: {'; '.join(broken)}"
    raise ConfigError(message)


_Found = list[tuple[str, type[IStrategy], str]]


def _scan_user_files(location: Path, skip: list[Path] | None = None, warn: bool = True) -> _Found:
    """Import every loadable file under ``location`` (except ``skip``); problems are skipped."""
    found: _Found = []
    for path in _strategy_files(location):
        problem = _syntax_problem(path, path.read_text(encoding="utf-8", errors="replace"))
        if problem is not None:
            if warn:
                logger.warning("skipping strategy file with a syntax error: %s", problem)
            continue
        if skip and path in skip:
            continue
        try:
            module = _import_file(path)
        except ConfigError as exc:
            logger.warning("skipping %s", exc)
            continue
        found.extend((name, cls, str(path)) for name, cls in sorted(_strategy_classes(module).items()))
    return found


def list_strategies(config_or_path: Any = None) -> list[tuple[str, str]]:
    """``(class name, file)`` of every strategy found: user files first, then the built-in ones.

    ``config_or_path`` is a config (its strategy path is used), a directory or file path, or None
    (``user_data/strategies``). Files that fail to import are skipped with a warning.
    """
    location = Path(config_or_path) if isinstance(config_or_path, str | Path) else _user_location(config_or_path, None)
    found = [(name, path) for name, _, path in _scan_user_files(location)]
    found.extend((name, file) for name, (_, file) in sorted(_builtin_strategies().items()))
    return found
