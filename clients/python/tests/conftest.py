"""Shared helpers of the Python client's tests: the repository, node, the built CLI, datasets.

Tests that need something missing (node, the built TypeScript, `mdcap serve`, a dataset) skip
and say why; under ``CI=true`` they fail instead, so CI never passes by skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, List, NoReturn

import pytest

HERE = Path(__file__).resolve().parent
CLIENT_ROOT = HERE.parent
REPO = CLIENT_ROOT.parent.parent
SUPPORT = HERE / "support"
CLI = REPO / "packages" / "cli" / "dist" / "main.js"

sys.path.insert(0, str(CLIENT_ROOT))  # import mdcap_client from the source tree


def in_ci() -> bool:
    """True under CI, where a missing prerequisite fails instead of skipping."""
    return os.environ.get("CI") == "true"


def missing(why: str) -> NoReturn:
    """Skips the test (fails it under CI=true) because something it needs is missing."""
    if in_ci():
        pytest.fail(f"{why} (CI=true: a missing prerequisite is a failure)", pytrace=False)
    pytest.skip(why)


def node() -> str:
    """The node executable, or a skip."""
    exe = shutil.which("node")
    if exe is None:
        missing("node is not on PATH")
    return exe


def built(path: Path) -> Path:
    """A file of the TypeScript build, or a skip saying how to build it."""
    if not path.exists():
        missing(f"{path.relative_to(REPO)} not found: build the TypeScript first (npx tsc -b tsconfig.build.json)")
    return path


def ts_json_lines(specs: List[Any]) -> List[str]:
    """The canonical JSON lines the TypeScript side prints for these events (tests/support/ts_json.mjs)."""
    built(REPO / "packages" / "core" / "dist" / "index.js")
    built(REPO / "packages" / "cli" / "dist" / "format.js")
    out = subprocess.run(
        [node(), str(SUPPORT / "ts_json.mjs")], input=json.dumps(specs).encode(), capture_output=True, check=False, timeout=60
    )
    if out.returncode != 0:
        raise AssertionError(f"ts_json.mjs failed: {out.stderr.decode()}")
    # Not splitlines(): it also splits at U+2028, which JSON.stringify leaves as it is.
    return out.stdout.decode("utf-8").split("\n")[:-1]


def big(n: int) -> Any:
    """A bigint for ts_json.mjs."""
    return {"$big": str(n)}


def datasets_root() -> Path:
    """Where third-party datasets are: $MDCAP_DATASETS, else ../shared/datasets next to the repository."""
    env = os.environ.get("MDCAP_DATASETS")
    return Path(env) if env else (REPO.parent / "shared" / "datasets")
