"""Rebuild ``data/borders-10m.xz`` from world-atlas's ``countries-10m.json``.

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python -m tagtrail_collector.journey.build_borders package/countries-10m.json

Writes the file into the package's ``data/`` folder (or to ``--out``) and prints what it holds.
"""

from __future__ import annotations

import argparse
import time
from importlib import resources
from pathlib import Path

from tagtrail_collector.journey import borders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("topology", type=Path, help="world-atlas countries-10m.json")
    parser.add_argument("--out", type=Path, default=None, help="default: the package's data/")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    shapes = borders.read_topology(args.topology.read_text("utf-8"))
    tiled = borders.tile(shapes)
    data = Path(str(resources.files("tagtrail_collector.journey") / "data"))
    out = args.out or data / borders.FILE
    out.write_bytes(borders.dump(tiled))
    print(  # noqa: T201 (a build tool's report)
        f"{out}: {len(tiled.countries)} countries, {len(tiled._full)} whole tiles,"
        f" {len(tiled._pieces)} pieces; {out.stat().st_size:,} bytes in"
        f" {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
