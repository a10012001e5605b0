# shellcheck shell=bash
# Shared set-up for deploy/test.sh and deploy/quickstart.sh: Python check, OS packages, venv.
# Sourced, not run. Every step is idempotent: a second run changes nothing and is quick.

TAGTRAIL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TAGTRAIL_VENV="${TAGTRAIL_VENV:-$TAGTRAIL_ROOT/.venv}"
# Debian packages providing the real services used by the tests and the quickstart.
TAGTRAIL_OS_PACKAGES=(mosquitto mosquitto-clients influxdb gpsd gpsd-clients curl)
# What only the tests need: tmux drives `tagtrail-edge watch`, systemd-analyze checks the units.
TAGTRAIL_TEST_PACKAGES=(tmux systemd)

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run '$*' (install sudo or run as root)"
    fi
}

find_python() {
    local candidate
    for candidate in "${TAGTRAIL_PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    die "Python 3.11 or newer is required (set TAGTRAIL_PYTHON to its path)"
}

missing_os_packages() {
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || printf '%s\n' "$pkg"
    done
}

# Installs Debian packages that are missing, without starting their system services:
# a temporary policy-rc.d tells invoke-rc.d/deb-systemd-invoke not to start anything.
install_os_packages() {
    local missing
    mapfile -t missing < <(missing_os_packages "$@")
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
    say "installing OS packages: ${missing[*]}"
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [ ! -e "$policy" ]; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
        created_policy=1
    fi
    local status=0
    as_root apt-get update -qq || status=$?
    if [ "$status" -eq 0 ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null || status=$?
    fi
    [ "$created_policy" -eq 1 ] && as_root rm -f "$policy"
    [ "$status" -eq 0 ] || die "apt-get failed (exit $status) installing ${missing[*]}"
    mapfile -t missing < <(missing_os_packages "$@")
    [ "${#missing[@]}" -eq 0 ] || die "still missing after install: ${missing[*]}"
}

# Creates the virtual environment (once) and installs the project into it in editable mode.
# Re-installs only when a pyproject.toml changed since the last successful install.
ensure_venv() {
    local python stamp want
    python="$(find_python)"
    if [ ! -x "$TAGTRAIL_VENV/bin/python" ] || ! "$TAGTRAIL_VENV/bin/python" -c 'import sys' 2>/dev/null; then
        say "creating virtual environment in $TAGTRAIL_VENV"
        rm -rf "$TAGTRAIL_VENV"
        if ! "$python" -m venv "$TAGTRAIL_VENV" 2>/dev/null; then
            # Debian splits ensurepip into python3-venv.
            rm -rf "$TAGTRAIL_VENV"
            local minor
            minor="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            install_os_packages "python$minor-venv"
            "$python" -m venv "$TAGTRAIL_VENV" || die "cannot create a virtual environment with $python"
        fi
    fi
    stamp="$TAGTRAIL_VENV/.tagtrail-installed"
    want="$(cat "$TAGTRAIL_ROOT"/pyproject.toml "$TAGTRAIL_ROOT"/*/pyproject.toml | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    say "installing tagtrail packages (editable) into $TAGTRAIL_VENV"
    local log="$TAGTRAIL_VENV/pip-install.log"
    if ! (cd "$TAGTRAIL_ROOT" && "$TAGTRAIL_VENV/bin/python" -m pip install --upgrade pip &&
        "$TAGTRAIL_VENV/bin/python" -m pip install \
            -e "protocol[test]" -e "hardware[test]" -e "edge[test]" -e "collector[test]" -e "tests[dev]") \
        >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "pip install failed; full log in $log"
    fi
    printf '%s\n' "$want" >"$stamp"
}
