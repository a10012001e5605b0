# shellcheck shell=bash
# Shared steps of deploy/edge/install-gateway.sh and deploy/server/install-server.sh.
# Sourced after lib/bootstrap.sh. Every step is idempotent: running an install again upgrades.
#
# DESTDIR (optional) stages every file under another root instead of /, and skips what only
# makes sense on the real system: apt, users, chown, systemctl. The tests use it.

DESTDIR="${DESTDIR:-}"
PREFIX="${TAGTRAIL_PREFIX:-/opt/tagtrail}"
ETC_DIR=/etc/tagtrail
UNIT_DIR=/etc/systemd/system
SERVICE_USER="${TAGTRAIL_USER:-tagtrail}"

staged() { [ -n "$DESTDIR" ]; }

require_root() {
    staged && return 0
    [ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 ...)"
}

check_platform() {
    local arch
    arch="$(uname -m)"
    case "$arch" in
        x86_64|aarch64) ;;
        armv7l) say "warning: 32-bit ARM ($arch) is untested; arm64 Raspberry Pi OS is recommended" ;;
        *) say "warning: untested architecture $arch" ;;
    esac
    staged && return 0
    command -v apt-get >/dev/null 2>&1 || die "this installer is for Debian and Raspberry Pi OS (apt)"
}

# A system user without a login, owning the state folder; extra groups as arguments.
ensure_service_user() {
    staged && return 0
    if ! id "$SERVICE_USER" >/dev/null 2>&1; then
        say "creating system user $SERVICE_USER"
        useradd --system --home-dir /var/lib/tagtrail --no-create-home \
            --shell /usr/sbin/nologin "$SERVICE_USER"
    fi
    local group
    for group in "$@"; do
        id -nG "$SERVICE_USER" | tr ' ' '\n' | grep -qx "$group" || usermod -aG "$group" "$SERVICE_USER"
    done
}

# Installs the given package folders of this checkout (not editable) into $PREFIX/venv.
install_packages() {
    local venv="$DESTDIR$PREFIX/venv" python log
    python="$(find_python)"
    mkdir -p "$DESTDIR$PREFIX"
    if [ ! -x "$venv/bin/python" ]; then
        say "creating $PREFIX/venv"
        "$python" -m venv "$venv" 2>/dev/null || {
            rm -rf "$venv"
            install_os_packages "python3-venv"
            "$python" -m venv "$venv"
        }
    fi
    log="$DESTDIR$PREFIX/pip-install.log"
    say "installing ${*} into $PREFIX/venv"
    local folders=() pkg
    for pkg in "$@"; do folders+=("$TAGTRAIL_ROOT/$pkg"); done
    if ! "$venv/bin/python" -m pip install --upgrade "${folders[@]}" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        die "pip install failed; full log in $log"
    fi
}

# install_file SOURCE TARGET MODE: copies unless TARGET exists (an operator's file is kept).
install_file() {
    local source="$1" target="$DESTDIR$2" mode="$3"
    mkdir -p "$(dirname "$target")"
    if [ -e "$target" ]; then
        say "keeping existing $2"
        return 0
    fi
    install -m "$mode" "$source" "$target"
    staged || chgrp "$SERVICE_USER" "$target"
}

# install_unit TEXT_FILE NAME: writes /etc/systemd/system/NAME with $PREFIX substituted.
install_unit() {
    local source="$1" name="$2" target="$DESTDIR$UNIT_DIR/$2"
    mkdir -p "$(dirname "$target")"
    sed -e "s|/opt/tagtrail|$PREFIX|g" -e "s|^User=tagtrail|User=$SERVICE_USER|" \
        -e "s|^Group=tagtrail|Group=$SERVICE_USER|" "$source" >"$target"
    chmod 644 "$target"
}

enable_units() {
    staged && return 0
    systemctl daemon-reload
    systemctl enable "$@"
    systemctl restart "$@"
}

# link_command NAME: $PREFIX/venv/bin/NAME on the PATH as /usr/local/bin/NAME, so that the
# commands the docs give work as written (sudo NAME ...).
link_command() {
    mkdir -p "$DESTDIR/usr/local/bin"
    ln -sfn "$PREFIX/venv/bin/$1" "$DESTDIR/usr/local/bin/$1"
}

# replace_file SOURCE TARGET MODE: installs SOURCE as TARGET; an existing, different TARGET is
# kept beside it as TARGET.<time> (the operator asked for the new one, and loses nothing).
replace_file() {
    local source="$1" target="$DESTDIR$2" mode="$3" kept
    if [ -e "$target" ] && ! cmp -s "$source" "$target"; then
        kept="$target.$(date -u +%Y%m%dT%H%M%SZ)"
        cp -p "$target" "$kept"
        say "replacing $2 (the previous one is kept as ${kept#"$DESTDIR"})"
        rm -f "$target"
    fi
    install_file "$source" "$2" "$mode"
}
