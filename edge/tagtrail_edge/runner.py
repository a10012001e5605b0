"""``tagtrail-edge run``: the agent's own process, kept lean.

The gateway runs this for weeks on a small board, so its process loads only what the agent
needs: the technician commands' libraries (typer, rich, sqlite-utils) stay out of it. The entry
point (:mod:`tagtrail_edge.entry`) sends ``run`` here without importing the CLI; the CLI's
``run`` command, which ``--help`` describes, calls the same :func:`run_agent`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Final

from tagtrail_edge.agent import Agent
from tagtrail_edge.config import DEFAULT_CONFIG, load_config
from tagtrail_edge.errors import EdgeError
from tagtrail_protocol import logs

DEFAULT_SHUTDOWN_TIMEOUT: Final = 10.0


def run_agent(config: Path, shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT) -> int:
    """Run the agent until SIGTERM or SIGINT; the process's exit status (2: cannot start)."""
    try:
        settings = load_config(config)
        logs.setup(settings.log)
        agent = Agent(settings)
    except EdgeError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    agent.start()
    stop.wait()
    agent.stop(timeout_s=shutdown_timeout)
    return 0


def parser() -> argparse.ArgumentParser:
    """The options of ``tagtrail-edge run`` (the same as the CLI command's, which a test checks)."""
    parsed = argparse.ArgumentParser(prog="tagtrail-edge run", add_help=False, allow_abbrev=False)
    parsed.add_argument("--config", "-c", type=Path, default=DEFAULT_CONFIG)
    parsed.add_argument("--shutdown-timeout", type=float, default=DEFAULT_SHUTDOWN_TIMEOUT)
    return parsed


def main(argv: list[str]) -> int:
    """``tagtrail-edge run ARGS``; with ``--help``, the entry point shows the CLI's help."""
    options = parser().parse_args(argv)  # a usage error exits with status 2, as click does
    return run_agent(options.config, options.shutdown_timeout)
