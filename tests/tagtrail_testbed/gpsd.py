"""gpsd fed by ``gpsfake`` from an NMEA capture, on a free loopback port."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from tagtrail_testbed.process import Service, free_port, port_open

GPSFAKE = os.environ.get("TAGTRAIL_GPSFAKE", "/usr/bin/gpsfake")


def conformance_dir() -> Path:
    """The shared conformance captures: $TAGTRAIL_CONFORMANCE_DIR, else ../shared/conformance."""
    configured = os.environ.get("TAGTRAIL_CONFORMANCE_DIR")
    if configured:
        return Path(configured)
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "conformance"


class GpsdFake(Service):
    """gpsfake replaying ``capture`` in a loop into its own gpsd. Use as a context manager.

    ``cycle`` is the delay between sentences in seconds (gpsfake's ``-c``).
    """

    name = "gpsfake"
    host = "127.0.0.1"

    def __init__(self, capture: Path, *, cycle: float = 0.02) -> None:
        if not capture.is_file():
            raise FileNotFoundError(capture)
        super().__init__()
        self.capture = capture
        self.cycle = cycle
        self.port = 0
        # gpsfake puts its control socket in TMPDIR: keep it in our folder.
        self._env = {"TMPDIR": str(self.workdir)}
        self._start()

    def _prepare(self) -> list[str]:
        self.port = free_port()
        return [GPSFAKE, "-q", "-c", str(self.cycle), "-P", str(self.port), str(self.capture)]

    def _ready(self) -> bool:
        return port_open(self.host, self.port)

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
