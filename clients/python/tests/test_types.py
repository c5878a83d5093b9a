"""The package type-checks (mypy --strict, as pyproject.toml configures it), against protoc's .pyi stubs."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLIENT_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None and os.environ.get("CI") != "true",
    reason="mypy is not installed (Debian: apt-get install python3-mypy)",
)
def test_mypy_strict() -> None:
    r = subprocess.run([sys.executable, "-m", "mypy"], cwd=str(CLIENT_ROOT), capture_output=True, text=True, timeout=600, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
