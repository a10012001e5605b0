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
from types import TracebackType
from typing import Self

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
        """Poll ``probe`` until true; raise with the log if the process exits or time runs out.

        The caller stops the process on failure (``Service._launch`` does).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.popen.poll()
            if code is not None:
                raise ServiceStartError(self.name, f"exited with status {code}", self.log_tail())
            if probe():
                return
            time.sleep(0.05)
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

    def kill(self) -> None:
        """SIGKILL the whole process group and reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

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


class Service:
    """Base of the test-bed services: a work folder, one process, start with retries, clean stop.

    Subclasses implement ``_prepare()`` (pick ports, write config, return argv) and ``_ready()``.
    """

    name = "service"
    start_timeout = 20.0
    start_attempts = 3  # a free port can be taken by someone else before the service binds it

    def __init__(self) -> None:
        self.workdir = make_workdir(self.name)
        self._process: ServiceProcess | None = None
        self._argv: list[str] = []
        self._env: Mapping[str, str] | None = None

    @property
    def process(self) -> ServiceProcess:
        if self._process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._process

    def _prepare(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _start(self) -> None:
        """Prepare and launch, trying again with new ports when the service does not come up."""
        try:
            for attempt in range(1, self.start_attempts + 1):
                self._argv = self._prepare()
                try:
                    self._process = self._launch()
                except ServiceStartError:
                    if attempt == self.start_attempts:
                        raise
                else:
                    return
        except BaseException:
            self.close()
            raise

    def _launch(self) -> ServiceProcess:
        process = ServiceProcess(
            self.name, self._argv, log_path=self.workdir / f"{self.name}.log", env=self._env
        )
        try:
            process.wait_ready(self._ready, timeout=self.start_timeout, what=self.name)
        except ServiceStartError:
            process.stop()
            raise
        return process

    def restart(self) -> None:
        """Stop and start again with the same configuration and ports."""
        self.stop()
        self.start()

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL); the work folder and ports are kept."""
        if self._process is not None:
            self._process.stop()
            self._process = None

    def kill(self) -> None:
        """SIGKILL the whole process group at once: no chance to finish or clean up."""
        if self._process is not None:
            self._process.kill()
            self._process = None

    def start(self) -> None:
        """Start again after ``stop()`` or ``kill()``, with the same configuration and ports."""
        if self._process is None:
            self._process = self._launch()

    def close(self) -> None:
        """Stop the process group and remove the work folder; safe to call twice."""
        if self._process is not None:
            self._process.stop()
            self._process = None
        remove_workdir(self.workdir)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
