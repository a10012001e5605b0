"""Runs a service and takes its whole process group down when the test run dies.

Usage: python reaper.py PARENT_PID -- ARGV...

Run as a plain script (not ``-m``) so that it starts without importing the test bed. A
parent-death signal reaches only a direct child; a service that forks (gpsfake starts gpsd)
would leave grandchildren behind. This process is that direct child: when the test run dies it
receives SIGUSR1 and kills its process group, itself included. A normal stop signals the whole
group, so the service gets its SIGTERM directly.
"""

import ctypes
import os
import signal
import subprocess
import sys
from types import FrameType

_PR_SET_PDEATHSIG = 1


def _kill_group(_signum: int = 0, _frame: FrameType | None = None) -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    parent, separator, command = int(argv[0]), argv[1], argv[2:]
    if separator != "--" or not command:
        sys.stderr.write("usage: reaper.py PARENT_PID -- ARGV...\n")
        return 2
    signal.signal(signal.SIGUSR1, _kill_group)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # wait for the service to stop, then exit
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGUSR1)
    if os.getppid() != parent:  # the test run died before prctl took effect
        _kill_group()
    child = subprocess.Popen(command, preexec_fn=_restore_signals)  # noqa: PLW1509
    return child.wait()


def _restore_signals() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
