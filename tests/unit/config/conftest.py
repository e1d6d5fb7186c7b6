"""Helpers for the config tests: a minimal valid config and a writer for config files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

MINIMAL: dict[str, Any] = {"max_open_trades": 3, "stake_currency": "USDT", "stake_amount": 100}


@pytest.fixture
def minimal() -> dict[str, Any]:
    """The smallest valid config (the keys freqtrade requires), as a fresh dict."""
    return dict(MINIMAL)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config file (a dict as JSON, or raw text) into tmp_path and return its path."""

    def write(content: dict[str, Any] | str, name: str = "config.json") -> Path:
        path = tmp_path / name
        text = content if isinstance(content, str) else json.dumps(content)
        path.write_text(text, encoding="utf-8")
        return path

    return write
