"""Every configuration key is read by the code it configures, not only declared and documented.

A key that validates, appears in the example and is then never read (``mqtt.compress_above``
once) is worse than none: the operator believes it works. For each key of the edge and collector
configuration models, some module of the package other than the one declaring the models must
read an attribute of that name. It is a tripwire, not a proof (a common name may be read for
another reason); the behaviour behind each key is tested where it lives.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import BaseModel

from tagtrail_collector.config import CollectorConfig
from tagtrail_edge.config import EdgeConfig
from tagtrail_testbed.settings import leaf_fields

ROOT = Path(__file__).resolve().parents[1]


fields = leaf_fields


def attributes_read(package: Path, *, declared_in: str) -> set[str]:
    """Attribute names read in the package; in the models' own module, only those read by
    methods that hand settings on (``OutboxSection.settings()``), not by validators."""
    names: set[str] = set()
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        scopes: list[ast.AST] = [tree]
        if path.name == declared_in:
            methods = [f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)]
            scopes = [
                f
                for f in methods
                if not any("validator" in ast.unparse(d) for d in f.decorator_list)
            ]
        for scope in scopes:
            for node in ast.walk(scope):
                if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                    names.add(node.attr)
    return names


@pytest.mark.parametrize(
    ("model", "package"),
    [(EdgeConfig, "edge/tagtrail_edge"), (CollectorConfig, "collector/tagtrail_collector")],
)
def test_every_key_is_read_outside_the_config_models(model: type[BaseModel], package: str) -> None:
    read = attributes_read(ROOT / package, declared_in="config.py")
    unread = sorted(key for key, name in fields(model).items() if name not in read)
    assert unread == [], f"declared and documented, never read: {unread}"


def test_the_tripwire_catches_an_unread_key() -> None:
    class Section(BaseModel):
        never_read_anywhere_xyz: int = 0

    read = attributes_read(ROOT / "edge" / "tagtrail_edge", declared_in="config.py")
    assert "never_read_anywhere_xyz" not in read
    assert fields(Section) == {"never_read_anywhere_xyz": "never_read_anywhere_xyz"}
