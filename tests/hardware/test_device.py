"""The reopen loop every driver shares: whatever a session raises, the device comes back."""

from __future__ import annotations

import termios
import threading
from collections.abc import Callable
from typing import Any

import serial
from hypothesis import given
from hypothesis import strategies as st

from tagtrail_hardware.contract import Backoff
from tagtrail_hardware.serial_port import SerialDevice
from tagtrail_hardware.virtual import VirtualSerialPort
from tagtrail_testbed.devices import Running

RunDevice = Callable[[Any], Running]


class _Failing(SerialDevice[int]):
    """A driver whose sessions raise the given errors in turn, then read normally."""

    def __init__(self, path: str, errors: list[BaseException]) -> None:
        super().__init__(name="flaky", path=path, baudrate=9600, backoff=Backoff(0.01, 0.02))
        self.errors = errors
        self.states: list[str] = []

    def _session(
        self,
        port: serial.Serial,
        sink: Callable[[list[int]], None],
        stop: threading.Event,
        *,
        on_ready: Callable[[], None],
    ) -> None:
        if self.errors:
            raise self.errors.pop(0)
        on_ready()
        sink([1])
        stop.wait()


def test_a_vanished_port_and_a_driver_bug_both_end_in_a_reopen(run_device: RunDevice) -> None:
    with VirtualSerialPort() as port:
        device = _Failing(
            port.device_path,
            [termios.error(5, "Input/output error"), KeyError("frame"), OSError(5, "gone")],
        )
        running = run_device(device)
        running.wait_for(lambda: running.items == [1])
        assert device.status().state == "ok"
        assert device.status().reopens == 3
        assert running.thread.is_alive()


def test_a_device_missing_at_start_up_is_logged_reported_and_retried(
    run_device: RunDevice, tmp_path: Any, caplog: Any
) -> None:
    """A reader unplugged when the agent starts: one log line, 'absent' with the reason in
    status, and reading starts by itself once it is there."""
    missing = tmp_path / "ttyUSB7"
    device = _Failing(str(missing), [])
    with caplog.at_level("INFO", logger="tagtrail_hardware.loop"):
        running = run_device(device)
        running.wait_for(lambda: device.status().state == "absent")
        assert str(missing) in (device.status().detail or "")
        with VirtualSerialPort() as port:
            missing.symlink_to(port.device_path)
            running.wait_for(lambda: running.items == [1], timeout=15)
            assert device.status().state == "ok"
    opened = [r.message for r in caplog.records if "cannot be opened" in r.message]
    assert len(opened) == 1  # once for the outage, not once per retry
    assert any("opened after" in r.message for r in caplog.records)


@given(
    attempt=st.integers(min_value=0, max_value=1000),
    down_s=st.floats(min_value=0.0, max_value=1e6, allow_nan=False),
    base=st.floats(min_value=0.01, max_value=5.0),
    cap=st.floats(min_value=0.01, max_value=600.0),
)
def test_a_reconnect_never_waits_longer_than_the_link_has_been_down(
    attempt: int, down_s: float, base: float, cap: float
) -> None:
    """However many attempts a short outage took, the wait after it is at most the outage (and
    at least a base wait is allowed, so a flapping link is not hammered)."""
    wait = Backoff(base_s=base, cap_s=cap).delay(attempt, down_s=down_s)
    assert 0.0 <= wait <= min(cap, max(base, down_s))
