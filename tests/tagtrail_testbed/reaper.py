"""Runs a service and takes its whole process group down when the test run dies.

Usage: python reaper.py PARENT_PID -- ARGV...

Run as a plain script (not ``-m``) so that it starts without importing the test bed. A service
that forks (gpsfake starts gpsd) would leave grandchildren behind if only it were signalled;
this process is the group's leader and watches the test run: when its parent is gone it kills
its process group, itself included. A normal stop signals the whole group, so the service gets
its SIGTERM directly.

The parent is watched by polling ``getppid()``. A parent-death signal (``PR_SET_PDEATHSIG``)
would fire when the *thread* that started the service ends, which kills services that a test
restarts from a worker thread.
"""

import os
import signal
import subprocess
import sys

_POLL_S = 0.25


def _kill_group() -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    parent, separator, command = int(argv[0]), argv[1], argv[2:]
    if separator != "--" or not command:
        sys.stderr.write("usage: reaper.py PARENT_PID -- ARGV...\n")
        return 2
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # wait for the service to stop, then exit
    if os.getppid() != parent:  # the test run died before this started
        _kill_group()
    child = subprocess.Popen(command, preexec_fn=_restore_signals)  # noqa: PLW1509
    while True:
        try:
            return child.wait(timeout=_POLL_S)
        except subprocess.TimeoutExpired:
            if os.getppid() != parent:
                _kill_group()


def _restore_signals() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
