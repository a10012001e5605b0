"""Service processes: own process group under a reaper (see reaper.py), log file, clean stop."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tagtrail_testbed.errors import ServiceStartError

_REAPER = Path(__file__).with_name("reaper.py")


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago (callers retry on a lost race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"tagtrail-{prefix}-"))


def remove_workdir(path: Path) -> None:
    if os.environ.get("TAGTRAIL_KEEP_TESTBED"):
        return
    shutil.rmtree(path, ignore_errors=True)


class ServiceProcess:
    """One started service: its process group, its log, and a way to stop all of it."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-I", "-S", str(_REAPER), str(os.getpid()), "--", *argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=None if env is None else {**os.environ, **env},
                cwd=cwd,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, probe: Callable[[], bool], *, timeout: float, what: str) -> None:
        """Poll ``probe`` until true; fail with the log if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.popen.poll()
            if code is not None:
                raise ServiceStartError(self.name, f"exited with status {code}", self.log_tail())
            if probe():
                return
            time.sleep(0.05)
        self.stop()
        raise ServiceStartError(
            self.name, f"{what} not ready after {timeout:.0f} s", self.log_tail()
        )

    def stop(self, *, grace: float = 5.0) -> None:
        """SIGTERM the whole process group, then SIGKILL what is left."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)

    def stopped(self) -> bool:
        """True when no process of the group is left."""
        try:
            os.killpg(self.popen.pid, 0)
        except ProcessLookupError:
            return True
        return False


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False
