"""Fixtures for the integration tests (helpers live in tests/integration/helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def bot_dir(tmp_path: Path) -> Path:
    return tmp_path
