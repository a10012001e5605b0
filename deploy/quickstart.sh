#!/usr/bin/env bash
# Starts the whole tagtrail system on this machine and prints how to query it.
# Usage: deploy/quickstart.sh [--state DIR] [--ttl SECONDS] [--status | --stop]
#   --state DIR    where everything it writes lives (default: .quickstart/ in the repository,
#                  or $TAGTRAIL_STATE_DIR)
#   --ttl SECONDS  stop everything by itself after this long
#   --status       say what is running
#   --stop         stop everything it started (the state folder stays; start again reuses it)
set -euo pipefail
# shellcheck source=deploy/lib/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/bootstrap.sh"

action=start
state="${TAGTRAIL_STATE_DIR:-$TAGTRAIL_ROOT/.quickstart}"
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --stop) action=stop ;;
        --status) action=status ;;
        --state) state="${2:?--state needs a folder}"; shift ;;
        --ttl) extra+=(--ttl "${2:?--ttl needs seconds}"); shift ;;
        -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
    shift
done

if [ "$action" != start ]; then
    if [ ! -x "$TAGTRAIL_VENV/bin/python" ]; then
        say "nothing to $action: the quickstart has not been set up"
        exit 0
    fi
    exec "$TAGTRAIL_VENV/bin/python" "$TAGTRAIL_ROOT/deploy/quickstart/quickstart.py" \
        "$action" --state "$state"
fi

install_os_packages "${TAGTRAIL_OS_PACKAGES[@]}"
ensure_venv
exec "$TAGTRAIL_VENV/bin/python" "$TAGTRAIL_ROOT/deploy/quickstart/quickstart.py" start \
    --state "$state" --script "$0" "${extra[@]}"
