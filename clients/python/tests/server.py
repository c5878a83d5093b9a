"""Running ``mdcap serve`` (and making captures for it) from the Python tests.

A :class:`Server` starts ``node packages/cli/dist/main.js serve --listen 127.0.0.1:0 --json``,
waits for its ``listening`` line (never a fixed sleep), drains its output on a thread so it
can never block on a full pipe, and stops it with SIGTERM (SIGKILL if it does not go).
"""

from __future__ import annotations

import functools
import json
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from conftest import CLI, REPO, SUPPORT, built, node

START_TIMEOUT_S = 60.0


def serve_available() -> Optional[str]:
    """None when ``mdcap serve`` can run, else why not."""
    if not CLI.exists():
        return f"{CLI.relative_to(REPO)} not found: build the TypeScript first (npx tsc -b tsconfig.build.json)"
    r = subprocess.run([node(), str(CLI), "serve", "--help"], capture_output=True, text=True, timeout=60, check=False)
    if r.returncode != 0 or "--captures" not in r.stdout:
        return "this build of mdcap has no serve command"
    return None


class Server:
    """An ``mdcap serve`` process on a free loopback port."""

    def __init__(self, captures: Path, *extra: str) -> None:
        self.args = [node(), str(built(CLI)), "serve", "--listen", "127.0.0.1:0", "--captures", str(captures), "--json", *extra]
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self.output: List[str] = []
        self.listening: Dict[str, Any] = {}
        self.proc: Optional[subprocess.Popen[str]] = None
        self._stderr = (captures.parent / f"serve-{id(self)}.stderr").open("w+")

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT`` from the listening line."""
        return str(self.listening["address"])

    def start(self) -> "Server":
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self._stderr, text=True, cwd=str(REPO))
        threading.Thread(target=self._drain, name="serve-stdout", daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise RuntimeError(f"mdcap serve did not print its listening line within {START_TIMEOUT_S} s: {self.stderr()}") from None
            if line is None:
                raise RuntimeError(f"mdcap serve exited with {self.proc.wait()} before listening: {self.stderr()}")
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("event") == "listening":
                self.listening = message
                return self

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def stderr(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after 15 s; returns the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        return self.proc.returncode

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def make_sim_capture(out: Path, seconds: int, *args: str) -> Dict[str, Any]:
    """Records the simulated venue (virtual clock) into ``out`` (tests/support/make_capture.mjs)."""
    built(REPO / "packages" / "capture" / "dist" / "index.js")
    r = subprocess.run(
        [node(), str(SUPPORT / "make_capture.mjs"), str(out), "--seconds", str(seconds), *args],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if r.returncode != 0:
        raise RuntimeError(f"make_capture.mjs failed: {r.stderr}")
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def mdcap(args: Sequence[str], timeout: float = 600) -> subprocess.CompletedProcess[bytes]:
    """Runs the mdcap CLI; the result's stdout is bytes (compared byte for byte)."""
    return subprocess.run([node(), str(built(CLI)), *args], capture_output=True, timeout=timeout, check=False, cwd=str(REPO))


@functools.lru_cache(maxsize=None)
def replayed(capture: Path, *args: str) -> bytes:
    """``mdcap replay CAPTURE --speed max --json ARGS``'s stdout (once per capture and arguments)."""
    r = mdcap(["replay", str(capture), "--speed", "max", "--json", *args])
    if r.returncode != 0:
        raise AssertionError(f"mdcap replay failed ({r.returncode}): {r.stderr.decode()}")
    return r.stdout
