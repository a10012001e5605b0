"""A configuration file that is not UTF-8 (saved as Latin-1 or UTF-16 by an editor) gets one
line naming the file and an exit status of 2 from every command that reads it, never a
traceback: the real executables, as an operator runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "argv",
    [
        ["tagtrail-edge", "run", "--config", "{f}"],
        ["tagtrail-edge", "config", "validate", "{f}"],
        ["tagtrail-edge", "config", "show", "--config", "{f}"],
        ["tagtrail-edge", "config", "set", "mqtt.host", "x", "--config", "{f}"],
        ["tagtrail-collector", "check-config", "{f}"],
        ["tagtrail-collector", "serve", "--config", "{f}"],
        ["tagtrail-collector", "admin", "key", "--config", "{f}"],
    ],
)
@pytest.mark.parametrize(
    "content",
    [
        '[gateway]\nid = "gate-\xe9"\n'.encode("latin-1"),
        '[gateway]\nid = "g"\n'.encode("utf-16"),
    ],
)
def test_a_config_that_is_not_utf8_is_one_line_and_exit_2(
    tmp_path: Path, argv: list[str], content: bytes
) -> None:
    config = tmp_path / "bad.toml"
    config.write_bytes(content)
    command = [str(BIN / argv[0]), *(a.format(f=config) for a in argv[1:])]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{config} is not UTF-8 text" in lines[0]
