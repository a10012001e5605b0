"""The serial ports on this machine: USB identity, stable names, and whether we may open them.

Ports come from pyserial's scan (``serial.tools.list_ports``), plus any path the caller names
(a configured device that is unplugged, or a pseudo-terminal the scan does not list). Access is
judged as the kernel would for this process; a refusal comes with the group to join.
"""

from __future__ import annotations

import grp
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from serial.tools import list_ports

BY_ID: Final = Path("/dev/serial/by-id")


@dataclass(frozen=True, slots=True)
class PortInfo:
    """One serial port. ``access`` is ``ok``, ``missing`` or ``denied: <what to do>``."""

    path: str
    present: bool
    access: str
    by_id: str | None = None
    usb_id: str | None = None  # "vvvv:pppp", hexadecimal vendor and product
    manufacturer: str | None = None
    product: str | None = None
    serial_number: str | None = None
    description: str | None = None
    role: str | None = None  # what the gateway config uses it for, e.g. "reader dock"

    @property
    def usable(self) -> bool:
        return self.access == "ok"


def scan(named: Mapping[str, str] | None = None, *, by_id_dir: Path = BY_ID) -> list[PortInfo]:
    """Every port the system lists, then every ``named`` path (path -> role) not among them."""
    named = dict(named or {})
    links = _by_id_links(by_id_dir)
    found: list[PortInfo] = []
    seen: set[str] = set()
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        real = os.path.realpath(port.device)
        role = named.get(port.device) or _role_by_realpath(named, real)
        usb = f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None else None
        found.append(
            PortInfo(
                path=port.device, present=True, access=access(port.device), by_id=links.get(real),
                usb_id=usb, manufacturer=port.manufacturer, product=port.product,
                serial_number=port.serial_number,
                description=None if port.description in (None, "n/a") else port.description,
                role=role,
            )
        )  # fmt: skip
        seen.update((port.device, real))
    for path, role in named.items():
        real = os.path.realpath(path)
        if path in seen or real in seen:
            continue
        seen.update((path, real))
        present = Path(path).exists()
        found.append(
            PortInfo(
                path=path, present=present, access=access(path) if present else "missing",
                by_id=links.get(real), role=role,
            )
        )  # fmt: skip
    return found


def access(path: str) -> str:
    """``ok`` when this process may read and write ``path``; else what to do about it."""
    if os.access(path, os.R_OK | os.W_OK):
        return "ok"
    try:
        info = Path(path).stat()
    except OSError as exc:
        return f"denied: {exc.strerror}"
    return denied_hint(info.st_mode, _group_name(info.st_gid), os.getgroups(), info.st_gid)


def denied_hint(mode: int, group: str, my_groups: Iterable[int], gid: int) -> str:
    """Why a port cannot be opened, and the fix a technician can apply."""
    group_may = mode & stat.S_IRGRP and mode & stat.S_IWGRP
    if group_may and gid not in set(my_groups):
        return f"denied: not in group {group} (sudo usermod -aG {group} $USER, then log in again)"
    return f"denied: mode {stat.filemode(mode)}, group {group}"


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _by_id_links(folder: Path) -> dict[str, str]:
    """Resolved device -> its stable ``/dev/serial/by-id`` name (survives re-plugging)."""
    try:
        links = list(folder.iterdir())
    except OSError:
        return {}
    return {os.path.realpath(link): str(link) for link in sorted(links)}


def _role_by_realpath(named: Mapping[str, str], real: str) -> str | None:
    for path, role in named.items():
        if os.path.realpath(path) == real:
            return role
    return None
