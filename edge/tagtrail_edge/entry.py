"""The ``tagtrail-edge`` program: ``run`` goes to the lean agent process, the rest to the CLI."""

from __future__ import annotations

import sys

_HELP = frozenset({"--help", "-h"})


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["run"] and not _HELP & set(argv):
        from tagtrail_edge.runner import main as run  # noqa: PLC0415

        raise SystemExit(run(argv[1:]))
    from tagtrail_edge.cli import main as cli  # noqa: PLC0415

    cli()


if __name__ == "__main__":
    main()
