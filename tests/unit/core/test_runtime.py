"""freeze_startup_objects: once per process, in a fresh interpreter so nothing else froze before."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc
from tradecast.core.runtime import freeze_startup_objects
assert gc.get_freeze_count() == 0
first = freeze_startup_objects()
frozen = gc.get_freeze_count()
keep = [object() for _ in range(10)]
second = freeze_startup_objects()
print(first, frozen > 0, second, gc.get_freeze_count() == frozen)
"""


def test_freezes_what_exists_once_and_never_again() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "False", "True"]
