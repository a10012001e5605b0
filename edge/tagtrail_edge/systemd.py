"""systemd integration: readiness and watchdog notifications (sd_notify), and the agent's unit.

The notification protocol is one datagram per message on ``$NOTIFY_SOCKET``; outside systemd
the variable is unset and nothing is sent.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from tagtrail_edge.config import EdgeConfig


def notify(message: str) -> bool:
    """Send ``message`` (e.g. ``READY=1``) to systemd; False when not run by systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError:
        return False
    return True


def watchdog_interval() -> float | None:
    """How often to tell systemd we are alive (half its WatchdogSec), or None when it does not
    watch us."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1e6 / 2


def unit(
    config_path: Path, config: EdgeConfig, *, user: str, executable: Path | None = None
) -> str:
    """A hardened unit running ``tagtrail-edge run`` for this config."""
    program = executable or Path(sys.executable).parent / "tagtrail-edge"
    outbox_dir = config.outbox.path.parent
    writable = "" if outbox_dir == Path("/var/lib/tagtrail") else f"ReadWritePaths={outbox_dir}\n"
    return f"""\
[Unit]
Description=tagtrail edge agent (gateway {config.gateway.id} at {config.gateway.site})
Documentation=man:systemd.service(5)
After=network-online.target time-sync.target gpsd.service
Wants=network-online.target

[Service]
Type=notify
ExecStart={program} run --config {config_path}
User={user}
Group={user}
SupplementaryGroups=dialout
EnvironmentFile=-/etc/tagtrail/edge.env
Restart=always
RestartSec=5
WatchdogSec=60
TimeoutStopSec=30
StateDirectory=tagtrail
StateDirectoryMode=0750
ProtectSystem=strict
{writable}ProtectHome=true
PrivateTmp=true
NoNewPrivileges=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectKernelLogs=true
ProtectControlGroups=true
ProtectClock=true
ProtectHostname=true
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
RestrictNamespaces=true
RestrictRealtime=true
RestrictSUIDSGID=true
LockPersonality=true
CapabilityBoundingSet=
SystemCallArchitectures=native
UMask=0027

[Install]
WantedBy=multi-user.target
"""
