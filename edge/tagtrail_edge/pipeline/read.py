"""The first stage: the gateway's devices, built from its config by their drivers, and the names
of its read points. The agent, ``watch``, ``gps`` and ``doctor`` all build devices here."""

from __future__ import annotations

from collections.abc import Callable

from tagtrail_edge.config import EdgeConfig
from tagtrail_hardware import drivers
from tagtrail_hardware.contract import Gps, Reader


def readers(config: EdgeConfig, *, only: tuple[str, ...] = ()) -> list[Reader]:
    """A device per ``[[readers]]`` entry (those named in ``only``, when given)."""
    return drivers.build_all(r for r in config.readers if not only or r.name in only)


def gps(config: EdgeConfig) -> Gps | None:
    """The ``[gps]`` device, or None without one."""
    return None if config.gps is None else drivers.build(config.gps)


def read_point_namer(config: EdgeConfig) -> Callable[[str, int], str]:
    """(reader, antenna) -> read point name: the configured one, else ``<reader>-a<antenna>``."""
    points = {(p.reader, p.antenna): p.name for p in config.read_points}

    def read_point(reader: str, antenna: int) -> str:
        return points.get((reader, antenna)) or f"{reader}-a{antenna}"

    return read_point
