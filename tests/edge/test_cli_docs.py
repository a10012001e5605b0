"""docs/cli.md documents every command of ``tagtrail-edge`` and every option of each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tagtrail_edge.cli import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def commands(group: Any, path: tuple[str, ...] = ()) -> dict[str, Any]:
    """Leaf commands by full name (typer's click objects: duck-typed, typer may vendor click)."""
    if hasattr(group, "commands"):
        found: dict[str, Any] = {}
        for name, command in group.commands.items():
            found |= commands(command, (*path, name))
        return found
    return {" ".join(("tagtrail-edge", *path)): group}


def sections() -> dict[str, str]:
    """Each ``## `command` `` heading of the page, with its text."""
    out = {}
    for part in DOC.read_text().split("\n## ")[1:]:
        heading, _, body = part.partition("\n")
        out[heading.strip().strip("`")] = body
    return out


def test_every_command_and_option_is_documented() -> None:
    documented = sections()
    found = commands(typer.main.get_command(app))
    assert {"tagtrail-edge run", "tagtrail-edge epc decode", "tagtrail-edge gps replay"} <= set(
        found
    )
    missing = sorted(set(found) - set(documented))
    assert not missing, f"commands missing from docs/cli.md: {missing}"
    for name, command in found.items():
        options = [
            opt
            for param in command.params
            if param.param_type_name == "option"
            for opt in param.opts
            if opt != "--help"
        ]
        undocumented = [opt for opt in options if f"`{opt}`" not in documented[name]]
        assert not undocumented, f"{name}: options missing from docs/cli.md: {undocumented}"
