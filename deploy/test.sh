#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing (OS packages, venv), then ruff, mypy, pytest.
# Usage: deploy/test.sh [pytest arguments...]
set -euo pipefail
# shellcheck source=deploy/lib/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/bootstrap.sh"

install_os_packages "${TAGTRAIL_OS_PACKAGES[@]}" "${TAGTRAIL_TEST_PACKAGES[@]}"
ensure_venv

cd "$TAGTRAIL_ROOT"
bin="$TAGTRAIL_VENV/bin"
say "ruff check"
"$bin/ruff" check .
say "ruff format --check"
"$bin/ruff" format --check .
say "mypy --strict"
"$bin/mypy"
say "pytest"
exec "$bin/pytest" "$@"
