"""Options shared by the ``tagtrail-edge`` commands."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_CONFIG = Path(os.environ.get("TAGTRAIL_EDGE_CONFIG", "/etc/tagtrail/edge.toml"))
ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="gateway config (env TAGTRAIL_EDGE_CONFIG)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="data as JSON, one object per line")]
