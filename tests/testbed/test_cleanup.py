"""Services never outlive the test run, not even when it is killed with SIGKILL."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = """
import sys, time
from pathlib import Path
from tagtrail_testbed import Broker, GpsdFake
from tagtrail_testbed.netstat import descendants
broker = Broker()
gpsd = GpsdFake(Path(sys.argv[1]))  # gpsfake forks gpsd: a grandchild of the test run
pids = descendants(broker.process.pid) | descendants(gpsd.process.pid)
print(" ".join(map(str, sorted(pids))), flush=True)
time.sleep(120)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] != "Z"


def test_services_die_when_the_test_run_is_killed(conformance: Path, tmp_path: Path) -> None:
    capture = conformance / "gps" / "gpsd" / "bu353s4.log"
    with subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(capture)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # a killed run leaves its folders here
    ) as run:
        assert run.stdout is not None
        pids = [int(pid) for pid in run.stdout.readline().split()]
        assert len(pids) >= 5, f"expected reapers, mosquitto, gpsfake and gpsd: {pids}"
        assert all(alive(pid) for pid in pids)
        run.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in pids if alive(pid)] == []
