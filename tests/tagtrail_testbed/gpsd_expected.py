"""What gpsd itself reports for the shared captures (the ``.chk`` files), and where tagtrail
knowingly parts from it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

TOLERANCE = 1e-6
Position = tuple[float, float]

# Where we knowingly part from gpsd, and why. Each entry: capture -> (positions gpsd has and we
# do not, positions we have and gpsd does not).
DIFFERENCES: dict[str, tuple[int, int, str]] = {
    "GPSmap-76S.log": (1, 0, "GGA quality 8 is the receiver's simulator mode: not a real position"),
    "mtk-3301.log": (1, 0, "gpsd reports mode 2 from a GGA whose fix quality is 0 (no fix)"),
    "myguide-3100.log": (2, 0, "GGA with an empty fix-quality field: we need the receiver to say"),
    "bt451.log": (0, 2, "spliced capture: epochs cut at the splice and at the end never reach "
                  "gpsd's cycle end, so gpsd reports them not; a live stream completes them"),
    "ublox-lea-4h.log": (0, 1, "the capture ends on a complete epoch that gpsfake stops before "
                         "gpsd reports"),
}  # fmt: skip


def captures(conformance: Path) -> list[Path]:
    return sorted((conformance / "gps" / "gpsd").glob("*.log"))


def gpsd_positions(log: Path) -> set[Position]:
    """The positions of gpsd's TPV reports with a 2D or 3D fix for one capture."""
    found = set()
    for line in Path(f"{log}.chk").read_text(errors="replace").splitlines():
        if line.startswith("{"):
            report = json.loads(line)
            if report.get("class") == "TPV" and report.get("mode", 0) >= 2 and "lat" in report:
                found.add((report["lat"], report["lon"]))
    return found


def _near(p: Position, others: Iterable[Position]) -> bool:
    return any(abs(p[0] - q[0]) <= TOLERANCE and abs(p[1] - q[1]) <= TOLERANCE for q in others)


def disagreement(ours: set[Position], theirs: set[Position]) -> tuple[int, int]:
    """(positions gpsd has that we lack, positions we have that gpsd lacks)."""
    missing = [p for p in theirs if not _near(p, ours)]
    extra = [p for p in ours if not _near(p, theirs)]
    return len(missing), len(extra)


def expected_disagreements() -> dict[str, tuple[int, int]]:
    return {name: (missing, extra) for name, (missing, extra, _) in DIFFERENCES.items()}
