#!/usr/bin/env bash
# Installs the tagtrail server: Mosquitto (TLS, per-gateway accounts), InfluxDB (tsi1, retention),
# and the collector as a systemd service. Debian 12 or newer.
# Usage: sudo deploy/server/install-server.sh --broker-host NAME [--cafile F --certfile F --keyfile F]
#                                            [--no-start]
#   --broker-host NAME   the name gateways reach the broker by (in its certificate)
#   --cafile/--certfile/--keyfile  your own CA and broker certificate; without them a private CA
#                        is made in /etc/mosquitto/certs (give its ca.crt to the gateways)
#   --no-start           install everything but do not enable and start the services
# In order: packages, the collector in $PREFIX/venv (and tagtrail-collector on the PATH),
# InfluxDB's config (tsi1, authentication on), the broker's TLS listener and accounts,
# collector.toml, then InfluxDB started and its accounts made (admin, collector) before the
# collector starts. Run it again to upgrade: packages are reinstalled, configs and accounts kept.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/lib/bootstrap.sh
source "$here/../lib/bootstrap.sh"
# shellcheck source=deploy/lib/install.sh
source "$here/../lib/install.sh"

broker_host="" cafile="" certfile="" keyfile="" start=1
while [ $# -gt 0 ]; do
    case "$1" in
        --broker-host) broker_host="${2:?}"; shift ;;
        --cafile) cafile="${2:?}"; shift ;;
        --certfile) certfile="${2:?}"; shift ;;
        --keyfile) keyfile="${2:?}"; shift ;;
        --no-start) start=0 ;;
        -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
    shift
done
[ -n "$broker_host" ] || die "--broker-host is required (try --help)"

require_root
check_platform
staged || install_os_packages mosquitto influxdb python3 python3-venv
ensure_service_user
install_packages protocol collector
cli="$DESTDIR$PREFIX/venv/bin/tagtrail-collector"
link_command tagtrail-collector

# InfluxDB: tsi1 index, loopback only, authentication on (the Debian file is kept as .orig).
influx_conf="$DESTDIR/etc/influxdb/influxdb.conf"
mkdir -p "$(dirname "$influx_conf")"
if ! grep -q 'index-version = "tsi1"' "$influx_conf" 2>/dev/null; then
    [ ! -e "$influx_conf" ] || cp -n "$influx_conf" "$influx_conf.orig"
    install -m 0644 "$here/influxdb.conf" "$influx_conf"
fi

# Broker: certificates, listener, the collector's account.
certs="$DESTDIR/etc/mosquitto/certs" broker_dir="$DESTDIR/etc/mosquitto/conf.d"
if [ -z "$cafile" ]; then
    cafile="$certs/ca.crt" certfile="$certs/broker.crt" keyfile="$certs/broker.key"
    [ -e "$cafile" ] || "$cli" broker certs --dir "$certs" --host "$broker_host" >/dev/null
fi
mkdir -p "$DESTDIR$ETC_DIR"
if [ ! -e "$DESTDIR$ETC_DIR/collector.toml" ]; then
    sed -e "s|^host = \"broker.example.net\"|host = \"$broker_host\"|" \
        "$here/../collector/collector.example.toml" >"$DESTDIR$ETC_DIR/collector.example.tmp"
    install_file "$DESTDIR$ETC_DIR/collector.example.tmp" "$ETC_DIR/collector.toml" 0640
    rm -f "$DESTDIR$ETC_DIR/collector.example.tmp"
else
    say "keeping existing $ETC_DIR/collector.toml"
fi
if [ ! -e "$broker_dir/tagtrail.conf" ]; then
    password="$("$cli" broker init --broker-dir "$broker_dir" --cafile "$cafile" \
        --certfile "$certfile" --keyfile "$keyfile" 2>/dev/null)"
    umask 027
    printf 'TAGTRAIL_COLLECTOR_MQTT__PASSWORD=%s\n' "$password" >>"$DESTDIR$ETC_DIR/collector.env"
    staged || chgrp "$SERVICE_USER" "$DESTDIR$ETC_DIR/collector.env"
fi
staged || chown mosquitto:mosquitto "$broker_dir/passwd" "$broker_dir/acl" "$keyfile"

install_unit "$here/tagtrail-collector.service" tagtrail-collector.service
install_unit "$here/tagtrail-collector@.service" tagtrail-collector@.service
if [ "$start" -eq 1 ] && ! staged; then
    # InfluxDB first, with its accounts, so the collector never starts against a server that
    # refuses it.
    systemctl restart influxdb
    for _ in $(seq 60); do curl -fs http://127.0.0.1:8086/ping >/dev/null && break; sleep 1; done
    "$cli" influx init --env-file "$ETC_DIR/collector.env" --admin-file "$ETC_DIR/influxdb-admin.env"
    chgrp "$SERVICE_USER" "$ETC_DIR/collector.env"
    systemctl restart mosquitto
    enable_units tagtrail-collector.service
fi
cat >&2 <<MSG
installed: $PREFIX/venv (tagtrail-collector is on the PATH as /usr/local/bin/tagtrail-collector),
$ETC_DIR/collector.toml (check [mqtt] host: $broker_host, [registry]), $ETC_DIR/collector.env
(the collector's broker and InfluxDB passwords), the broker's TLS listener in
/etc/mosquitto/conf.d/tagtrail.conf, InfluxDB's config (tsi1, authentication on), and the units
tagtrail-collector.service and tagtrail-collector@.service.
MSG
if [ "$start" -eq 0 ] || staged; then
    cat >&2 <<MSG
Not started (--no-start). Start InfluxDB and make its accounts before the collector:
  sudo systemctl restart influxdb mosquitto
  sudo tagtrail-collector influx init --env-file $ETC_DIR/collector.env --admin-file $ETC_DIR/influxdb-admin.env
  sudo systemctl enable --now tagtrail-collector
MSG
fi
cat >&2 <<MSG
Next: an admin key (sudo tagtrail-collector admin key), sites (sudo tagtrail-collector admin site
...), then each gateway:
  sudo tagtrail-collector gateways provision GATEWAY --site SITE --broker-host $broker_host
MSG
