#!/usr/bin/env bash
# Starts the whole tagtrail system on this machine and prints how to query it.
# Usage: deploy/quickstart.sh [--stop]
set -euo pipefail
# shellcheck source=deploy/lib/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/bootstrap.sh"

if [ "${1:-}" = "--stop" ]; then
    say "nothing to stop: this release starts no services yet"
    exit 0
fi

install_os_packages "${TAGTRAIL_OS_PACKAGES[@]}"
ensure_venv

cat <<MSG

Prerequisites are installed: Mosquitto, InfluxDB and gpsd from the OS packages (their
system services were not started) and the tagtrail packages in $TAGTRAIL_VENV.

Starting the broker, InfluxDB, the collector and simulated gateways is coming in a later
release, together with the edge agent and the collector. Until then, ./deploy/test.sh
runs every test against real Mosquitto, InfluxDB and gpsd processes.
MSG
