"""Which country a position lies in: Natural Earth admin-0 boundaries, from the TopoJSON that the
npm package ``world-atlas`` ships (``data/``, with its licence and version in ``data/README.md``).

Resolution is a trade of accuracy for speed (measured near Venlo on the Dutch-German border):
1:10m is right within about 1 km, 1:50m is off by up to 2.3 km, 1:110m by up to 10 km. The
default is 1:10m; ``docs/journey.md`` says what that means for the time of a border crossing.

Several countries come out of the conversion as invalid polygons (self-touching rings); they are
repaired with ``make_valid(method="structure")``, which keeps them polygons. Each country's
polygons are then cut into tiles of ``_TILE_DEG`` degrees: a tile wholly inside one country
answers without a point-in-polygon test, and the pieces along borders and coasts are small.
"""

from __future__ import annotations

import json
import lzma
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

FILE: Final = "borders-10m.xz"
_TILE_DEG: Final = 1.0


@dataclass(frozen=True, slots=True)
class Country:
    """``code``: ISO 3166-1 alpha-2 where Natural Earth gives the country an ISO number, else the
    name (Kosovo, Northern Cyprus, Somaliland have none)."""

    code: str
    name: str


class Borders:
    """Country lookup by position: tiles wholly inside one country, and an STRtree over the
    pieces along borders and coasts. Built by :func:`tile` (seconds), loaded by :func:`load`."""

    def __init__(
        self,
        countries: Sequence[Country],
        full: dict[tuple[int, int], int],
        pieces: Sequence[BaseGeometry],
        owners: Sequence[int],
    ) -> None:
        self.countries = tuple(countries)
        self._full = full
        self._pieces = np.array(pieces, dtype=object)
        shapely.prepare(self._pieces)
        self._owners = np.array(owners, dtype=np.int32)
        self._tree = shapely.STRtree(self._pieces)

    def country(self, lat: float, lon: float) -> Country | None:
        """The country at a position; None at sea (or off the map's coastline)."""
        return self.countries_of([(lat, lon)])[0]

    def whole_tile(self, lat: float, lon: float) -> bool:
        """Whether the position's tile lies wholly inside one country (no border near)."""
        return (math.floor(lon / _TILE_DEG), math.floor(lat / _TILE_DEG)) in self._full

    def countries_of(self, positions: Sequence[tuple[float, float]]) -> list[Country | None]:
        """Countries of many positions at once (one index query for the lot)."""
        found: list[Country | None] = [None] * len(positions)
        rest: list[int] = []
        for i, (lat, lon) in enumerate(positions):
            owner = self._full.get((math.floor(lon / _TILE_DEG), math.floor(lat / _TILE_DEG)))
            if owner is None:
                rest.append(i)
            else:
                found[i] = self.countries[owner]
        if rest:
            points = shapely.points([(positions[i][1], positions[i][0]) for i in rest])
            into, hit = self._tree.query(points, predicate="intersects")
            for point_index, piece_index in zip(into.tolist(), hit.tolist(), strict=True):
                slot = rest[point_index]
                if found[slot] is None:
                    found[slot] = self.countries[int(self._owners[piece_index])]
        return found


def _tiles(shape: BaseGeometry) -> Iterator[tuple[tuple[int, int], BaseGeometry, bool]]:
    """The shape cut into tiles: (tile, piece, whether the piece is the whole tile).

    Cut by quadrants, recursively: each cut works on an already small piece, so a country of
    tens of thousands of vertices is tiled in O(n log n) rather than once per tile.
    """
    west, south, east, north = shape.bounds
    x0, y0 = math.floor(west / _TILE_DEG), math.floor(south / _TILE_DEG)
    span = max(math.floor(east / _TILE_DEG) - x0, math.floor(north / _TILE_DEG) - y0) + 1
    size = 1 << max(0, math.ceil(math.log2(span)))
    yield from _quads(shape, x0, y0, size)


def _quads(
    shape: BaseGeometry, x0: int, y0: int, size: int
) -> Iterator[tuple[tuple[int, int], BaseGeometry, bool]]:
    cell = box(x0 * _TILE_DEG, y0 * _TILE_DEG, (x0 + size) * _TILE_DEG, (y0 + size) * _TILE_DEG)
    piece = shape.intersection(cell)
    if piece.is_empty or piece.area == 0:
        return
    if abs(piece.area - cell.area) < 1e-9 * cell.area:
        for dx in range(size):
            for dy in range(size):
                tile = (x0 + dx, y0 + dy)
                yield tile, box(*_tile_box(tile)), True
        return
    if size == 1:
        yield (x0, y0), piece, False
        return
    half = size // 2
    for dx in (0, half):
        for dy in (0, half):
            yield from _quads(piece, x0 + dx, y0 + dy, half)


def _tile_box(tile: tuple[int, int]) -> tuple[float, float, float, float]:
    x, y = tile
    return x * _TILE_DEG, y * _TILE_DEG, (x + 1) * _TILE_DEG, (y + 1) * _TILE_DEG


def tile(shapes: Sequence[tuple[Country, BaseGeometry]]) -> Borders:
    """Cut countries into tiles and index them."""
    full: dict[tuple[int, int], int] = {}
    pieces: list[BaseGeometry] = []
    owners: list[int] = []
    for index, (_, shape) in enumerate(shapes):
        for where, piece, whole in _tiles(shape):
            if whole and where not in full:
                full[where] = index
            else:
                pieces.append(piece)
                owners.append(index)
    return Borders([c for c, _ in shapes], full, pieces, owners)


def dump(borders: Borders) -> bytes:
    """The tiled borders as one xz-compressed blob: a JSON header line, then the pieces' WKB."""
    header = {
        "tile_deg": _TILE_DEG,
        "countries": [[c.code, c.name] for c in borders.countries],
        "full": [[x, y, i] for (x, y), i in sorted(borders._full.items())],
        "owners": borders._owners.tolist(),
    }
    blobs = shapely.to_wkb(borders._pieces, output_dimension=2)
    body = b"".join(len(b).to_bytes(4, "little") + b for b in blobs)
    return lzma.compress(json.dumps(header).encode() + b"\n" + body, preset=9)


def undump(blob: bytes) -> Borders:
    raw = lzma.decompress(blob)
    line, _, body = raw.partition(b"\n")
    header = json.loads(line)
    if header["tile_deg"] != _TILE_DEG:
        raise ValueError("borders file was tiled at another size")
    wkb: list[bytes] = []
    at = 0
    while at < len(body):
        size = int.from_bytes(body[at : at + 4], "little")
        wkb.append(body[at + 4 : at + 4 + size])
        at += 4 + size
    return Borders(
        [Country(code, name) for code, name in header["countries"]],
        {(x, y): i for x, y, i in header["full"]},
        list(shapely.from_wkb(wkb)),
        header["owners"],
    )


@cache
def load() -> Borders:
    """The world's borders at 1:10m, tiled (``data/borders-10m.xz``; loaded once per process,
    in a fraction of a second)."""
    data = resources.files("tagtrail_collector.journey") / "data"
    return undump((data / FILE).read_bytes())


def read_topology(text: str) -> list[tuple[Country, BaseGeometry]]:
    """A world-atlas ``countries-*.json`` as (country, valid shape) pairs."""
    data = resources.files("tagtrail_collector.journey") / "data"
    codes: dict[str, str] = json.loads((data / "iso3166-numeric.json").read_text("utf-8"))
    return list(countries(json.loads(text), codes))


def countries(
    topology: dict[str, Any], codes: dict[str, str]
) -> Iterator[tuple[Country, BaseGeometry]]:
    """Each country of a world-atlas topology as a valid (multi)polygon."""
    arcs = _decode_arcs(topology)
    for geometry in topology["objects"]["countries"]["geometries"]:
        name = geometry["properties"]["name"]
        code = codes.get(str(geometry.get("id", "")), name)
        shape = _shape(geometry, arcs)
        if shape is None:
            continue
        if not shape.is_valid:
            shape = shapely.make_valid(shape, method="structure", keep_collapsed=False)
        yield Country(code, name), shape


def _decode_arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """Quantized, delta-encoded arcs -> (lon, lat) lists (TopoJSON specification, 2.1.3)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    decoded = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        decoded.append(points)
    return decoded


def _ring(
    indexes: Iterable[int], arcs: list[list[tuple[float, float]]]
) -> list[tuple[float, float]]:
    ring: list[tuple[float, float]] = []
    for index in indexes:
        points = arcs[index] if index >= 0 else arcs[~index][::-1]
        ring.extend(points if not ring else points[1:])
    return ring


def _polygon(rings: list[list[int]], arcs: list[list[tuple[float, float]]]) -> Polygon | None:
    decoded = [_ring(r, arcs) for r in rings]
    decoded = [r for r in decoded if len(r) >= 4]
    if not decoded:
        return None
    return Polygon(decoded[0], decoded[1:])


def _shape(geometry: dict[str, Any], arcs: list[list[tuple[float, float]]]) -> BaseGeometry | None:
    kind = geometry.get("type")
    if kind == "Polygon":
        return _polygon(geometry["arcs"], arcs)
    if kind == "MultiPolygon":
        parts = [p for p in (_polygon(rings, arcs) for rings in geometry["arcs"]) if p is not None]
        return MultiPolygon(parts) if parts else None
    return None
