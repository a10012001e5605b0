"""gpsd fed by ``gpsfake`` from an NMEA capture, on a free loopback port."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from tagtrail_testbed.errors import ServiceStartError
from tagtrail_testbed.process import (
    ServiceProcess,
    free_port,
    make_workdir,
    port_open,
    remove_workdir,
)

GPSFAKE = os.environ.get("TAGTRAIL_GPSFAKE", "/usr/bin/gpsfake")
_START_ATTEMPTS = 3


def conformance_dir() -> Path:
    """The shared conformance captures: $TAGTRAIL_CONFORMANCE_DIR, else ../shared/conformance."""
    configured = os.environ.get("TAGTRAIL_CONFORMANCE_DIR")
    if configured:
        return Path(configured)
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "conformance"


class GpsdFake:
    """gpsfake replaying ``capture`` in a loop into its own gpsd. Use as a context manager.

    ``cycle`` is the delay between sentences in seconds (gpsfake's ``-c``).
    """

    host = "127.0.0.1"

    def __init__(self, capture: Path, *, cycle: float = 0.02) -> None:
        if not capture.is_file():
            raise FileNotFoundError(capture)
        self.capture = capture
        self.workdir = make_workdir("gpsd")
        self.port = 0
        self._process: ServiceProcess | None = None
        try:
            self._start(cycle)
        except BaseException:
            remove_workdir(self.workdir)
            raise

    @property
    def process(self) -> ServiceProcess:
        if self._process is None:
            raise RuntimeError("gpsfake is not running")
        return self._process

    def _start(self, cycle: float) -> None:
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.port = free_port()
            argv = [GPSFAKE, "-q", "-c", str(cycle), "-P", str(self.port), str(self.capture)]
            # gpsfake puts its control socket in TMPDIR: keep it in our folder.
            process = ServiceProcess(
                "gpsfake",
                argv,
                log_path=self.workdir / "gpsfake.log",
                env={"TMPDIR": str(self.workdir)},
            )
            try:
                process.wait_ready(
                    lambda: port_open(self.host, self.port), timeout=20, what="gpsd port"
                )
            except ServiceStartError:
                process.stop()
                if attempt == _START_ATTEMPTS:
                    raise
                continue
            self._process = process
            return

    def reports(
        self, cls: str = "TPV", *, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Watch gpsd and collect ``count`` JSON reports of class ``cls``."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
            sock.sendall(b'?WATCH={"enable":true,"json":true};\n')
            stream = sock.makefile("rb")
            while len(found) < count and time.monotonic() < deadline:
                line = stream.readline()
                if not line:
                    break
                report = json.loads(line)
                if report.get("class") == cls:
                    found.append(report)
        return found

    def close(self) -> None:
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
