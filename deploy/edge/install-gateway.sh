#!/usr/bin/env bash
# Installs the tagtrail edge agent on a gateway (Debian or Raspberry Pi OS, arm64 or amd64).
# Usage: sudo deploy/edge/install-gateway.sh [--config FILE] [--ca FILE] [--no-start]
#   --config FILE  the gateway's edge.toml (e.g. from `tagtrail-collector gateways provision`
#                  merged with its readers); it replaces an existing /etc/tagtrail/edge.toml
#                  (kept beside it, dated); without it an existing one is kept, or
#                  `tagtrail-edge init` asks for one
#   --ca FILE      the CA certificate that signed the broker's, installed as /etc/tagtrail/ca.crt
#   --no-start     install everything but do not enable and start the service
# Run it again to upgrade: the packages are reinstalled, configs are kept, the service restarts.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/lib/bootstrap.sh
source "$here/../lib/bootstrap.sh"
# shellcheck source=deploy/lib/install.sh
source "$here/../lib/install.sh"

config="" ca="" start=1
while [ $# -gt 0 ]; do
    case "$1" in
        --config) config="${2:?--config needs a file}"; shift ;;
        --ca) ca="${2:?--ca needs a file}"; shift ;;
        --no-start) start=0 ;;
        -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
    shift
done

require_root
check_platform
staged || install_os_packages python3 python3-venv
ensure_service_user dialout
install_packages protocol hardware edge
edge="$DESTDIR$PREFIX/venv/bin/tagtrail-edge"
link_command tagtrail-edge

mkdir -p "$DESTDIR$ETC_DIR"
[ -z "$ca" ] || install_file "$ca" "$ETC_DIR/ca.crt" 0644
if [ -n "$config" ]; then
    "$edge" config validate "$config" >/dev/null || die "$config is not valid (see above)"
    replace_file "$config" "$ETC_DIR/edge.toml" 0640
elif [ ! -e "$DESTDIR$ETC_DIR/edge.toml" ]; then
    say "no config yet: tagtrail-edge init asks for one"
    "$edge" init --config "$DESTDIR$ETC_DIR/edge.toml"
    staged || chgrp "$SERVICE_USER" "$DESTDIR$ETC_DIR/edge.toml"
else
    say "keeping existing $ETC_DIR/edge.toml"
fi
"$edge" config validate "$DESTDIR$ETC_DIR/edge.toml" >/dev/null ||
    die "$ETC_DIR/edge.toml is not valid (see above); fix it and run this again"

say "writing the systemd unit"
mkdir -p "$DESTDIR$UNIT_DIR"
"$edge" service install --config "$DESTDIR$ETC_DIR/edge.toml" --user "$SERVICE_USER" \
    --unit-dir "$DESTDIR$UNIT_DIR" --no-enable >/dev/null
if [ -n "$DESTDIR" ]; then
    # Staged: the unit names the final paths, not the staging root.
    sed -i -e "s|$DESTDIR||g" "$DESTDIR$UNIT_DIR/tagtrail-edge.service"
fi
if [ "$start" -eq 1 ]; then
    enable_units tagtrail-edge.service
    staged || say "started; check it with: sudo -u $SERVICE_USER tagtrail-edge doctor -c $ETC_DIR/edge.toml"
fi
say "installed: $PREFIX/venv (tagtrail-edge on the PATH), $ETC_DIR/edge.toml, $UNIT_DIR/tagtrail-edge.service"
