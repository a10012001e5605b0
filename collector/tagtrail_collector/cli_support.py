"""What the command-line modules share: the one-line failure, and the registry a config names."""

from __future__ import annotations

from pathlib import Path

import typer

from tagtrail_collector.config import load_config
from tagtrail_collector.errors import CollectorError
from tagtrail_collector.store.registry.db import connect
from tagtrail_collector.store.registry.registry import Registry


def fail(exc: CollectorError | ValueError) -> typer.Exit:
    """Say what is wrong in one line on stderr; the caller raises the exit (status 2)."""
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(2)


def registry_from(config: Path) -> Registry:
    """The registry the collector config at ``config`` names."""
    settings = load_config(config)
    return Registry(connect(settings.registry.url.get_secret_value()))
