"""``tagtrail-edge run`` starts the agent without the technician commands' libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import typer

from tagtrail_edge import runner
from tagtrail_edge.cli import app

AGENT = Path(sys.executable).parent / "tagtrail-edge"
CLI_ONLY = ("typer", "click", "rich", "sqlite_utils")


def test_the_agent_process_does_not_load_the_cli_libraries() -> None:
    probe = (
        "import sys\n"
        "from tagtrail_edge import agent, config, runner, entry\n"
        f"print(sorted(m for m in {CLI_ONLY!r} if m in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


def test_run_takes_the_same_options_as_the_cli_command() -> None:
    command: Any = typer.main.get_command(app)  # typer's click objects (typer may vendor click)
    cli_options = {
        tuple(sorted(param.opts)): param.default
        for param in command.commands["run"].params
        if param.param_type_name == "option"
    }
    lean = {
        tuple(sorted(action.option_strings)): action.default for action in runner.parser()._actions
    }
    assert lean == cli_options


def test_a_usage_error_exits_2_and_help_is_the_cli_help() -> None:
    bad = subprocess.run(
        [str(AGENT), "run", "--no-such-option"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert "unrecognized arguments: --no-such-option" in bad.stderr
    shown = subprocess.run(
        [str(AGENT), "run", "--help"], capture_output=True, text=True, check=False
    )
    assert shown.returncode == 0
    assert "Run the agent until SIGTERM or SIGINT" in shown.stdout
    assert "--shutdown-timeout" in shown.stdout


def test_a_missing_config_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    result = subprocess.run(
        [str(AGENT), "run", "-c", str(missing)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert str(missing) in result.stderr
