"""Every documented configuration key is a real key, read by the code it configures.

A key that validates, appears in the example and is then never read (``mqtt.compress_above``
once) is worse than none: the operator believes it works. Each key the example files document
(set or commented out) must be a key of the model, and for each key of the edge and collector
models some module of the package (or of the protocol package, which holds the sections both
share) other than the ones declaring the models must read an attribute of that name. It is a
tripwire, not a proof (a common name may be read for another reason); the behaviour behind each
key is tested where it lives.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import BaseModel

from tagtrail_collector.config import CollectorConfig
from tagtrail_edge.config import EdgeConfig
from tagtrail_testbed.settings import documented_keys, leaf_fields

ROOT = Path(__file__).resolve().parents[1]


fields = leaf_fields


DECLARING = ("config.py", "settings.py")
SHARED = (ROOT / "protocol" / "tagtrail_protocol", ROOT / "hardware" / "tagtrail_hardware")
"""Packages holding sections both programs share, and the drivers' own settings."""
EXAMPLES = {
    "edge": ROOT / "deploy" / "edge" / "edge.example.toml",
    "collector": ROOT / "deploy" / "collector" / "collector.example.toml",
}


def attributes_read(*packages: Path, declared_in: tuple[str, ...] = DECLARING) -> set[str]:
    """Attribute names read in the packages; in the models' own modules, only those read by
    methods that hand settings on (``EdgeConfig.thresholds_for()``), not by validators."""
    names: set[str] = set()
    for path in (p for package in packages for p in package.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        scopes: list[ast.AST] = [tree]
        if path.name in declared_in:
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
    read = attributes_read(ROOT / package, *SHARED)
    unread = sorted(key for key, name in fields(model).items() if name not in read)
    assert unread == [], f"declared and documented, never read: {unread}"


def test_the_tripwire_catches_an_unread_key() -> None:
    class Section(BaseModel):
        never_read_anywhere_xyz: int = 0

    read = attributes_read(ROOT / "edge" / "tagtrail_edge")
    assert "never_read_anywhere_xyz" not in read
    assert fields(Section) == {"never_read_anywhere_xyz": "never_read_anywhere_xyz"}


@pytest.mark.parametrize(
    ("model", "example", "package"),
    [
        (EdgeConfig, EXAMPLES["edge"], "edge/tagtrail_edge"),
        (CollectorConfig, EXAMPLES["collector"], "collector/tagtrail_collector"),
    ],
)
def test_every_documented_key_exists_and_is_read(
    model: type[BaseModel], example: Path, package: str
) -> None:
    keys = fields(model)
    documented = documented_keys(example)
    assert documented - set(keys) == set(), "documented, but not a key of the model"
    read = attributes_read(ROOT / package, *SHARED)
    assert sorted(k for k in documented if keys[k] not in read) == []
