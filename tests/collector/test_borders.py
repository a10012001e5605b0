"""Country lookup: the shipped 1:10m tiles answer as the polygons they were cut from."""

from __future__ import annotations

import json
import random
from importlib import resources

import shapely

from tagtrail_collector.journey import borders


def test_known_places() -> None:
    world = borders.load()
    places = {
        (51.3700, 6.1700): "NL",  # Venlo
        (51.4310, 6.2640): "DE",  # Straelen
        (51.9500, 4.0500): "NL",  # Maasvlakte, Rotterdam
        (48.8566, 2.3522): "FR",
        (1.2903, 103.8520): "SG",
        (-33.8688, 151.2093): "AU",
        (40.7128, -74.0060): "US",
    }
    for (lat, lon), code in places.items():
        found = world.country(lat, lon)
        assert found is not None, (lat, lon)
        assert found.code == code, (lat, lon, found)
    assert world.country(54.0, 3.0) is None  # the North Sea
    kosovo = world.country(42.66, 21.17)  # Natural Earth gives it no ISO number
    assert kosovo is not None
    assert kosovo.code == "Kosovo"


def test_tiles_answer_as_the_polygons_they_were_cut_from() -> None:
    """Tile the 1:50m countries here and compare with the polygons on random points."""
    data = resources.files("tagtrail_collector.journey") / "data"
    shapes = borders.read_topology((data / "countries-50m.json").read_text("utf-8"))
    assert all(shape.is_valid for _, shape in shapes)
    tiled = borders.tile(shapes)
    again = borders.undump(borders.dump(tiled))
    rng = random.Random(7)
    points = [(rng.uniform(-60, 75), rng.uniform(-180, 180)) for _ in range(5000)]
    points += [(rng.uniform(50.5, 52.5), rng.uniform(5.5, 7.5)) for _ in range(5000)]  # NL/DE
    found = again.countries_of(points)
    for (lat, lon), country in zip(points, found, strict=True):
        point = shapely.Point(lon, lat)
        owners: list[str | None] = [c.code for c, shape in shapes if shape.covers(point)]
        assert (country.code if country else None) in (owners or [None]), (lat, lon)


def test_the_conversion_repairs_invalid_countries() -> None:
    data = resources.files("tagtrail_collector.journey") / "data"
    topology = json.loads((data / "countries-50m.json").read_text("utf-8"))
    arcs = borders._decode_arcs(topology)
    raw = [borders._shape(g, arcs) for g in topology["objects"]["countries"]["geometries"]]
    assert any(shape is not None and not shape.is_valid for shape in raw)
    shapes = borders.read_topology(json.dumps(topology))
    assert all(s.is_valid and s.geom_type in ("Polygon", "MultiPolygon") for _, s in shapes)
