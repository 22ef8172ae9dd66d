# Shared helpers for Deployer's scripts. Source it; do not run it.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR="$ROOT/var"
mkdir -p "$VAR/log"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# apt_ensure PACKAGE...: install the Debian packages that are missing, and only those.
apt_ensure() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]} (run as root, or install them)"
    say "installing ${missing[*]}"
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
        apt-get update -q >"$VAR/log/apt.log" 2>&1 || die "apt-get update failed, see $VAR/log/apt.log"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
        >>"$VAR/log/apt.log" 2>&1 || die "apt-get install failed, see $VAR/log/apt.log"
}

# wait_for DESCRIPTION SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for() {
    local what=$1 seconds=$2; shift 2
    for _ in $(seq 1 $((seconds * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    die "$what did not come up within ${seconds}s"
}

# ensure_venv REQUIREMENTS_FILE: a virtualenv in .venv with exactly those pins, reinstalled only
# when they change, and the `deployer` CLI of this checkout (an editable install: .venv/bin/deployer).
ensure_venv() {
    local req=$1
    local stamp="$ROOT/.venv/.installed-$(basename "$req")" digest
    digest=$(cat "$ROOT"/requirements*.txt "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)
    if [ ! -x "$ROOT/.venv/bin/python" ]; then
        say "creating the virtualenv in .venv"
        python3 -m venv "$ROOT/.venv" || die "python3 -m venv failed (apt-get install python3-venv)"
    fi
    if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
        say "installing $(basename "$req")"
        "$ROOT/.venv/bin/pip" install -q -r "$ROOT/$req" || die "pip install -r $req failed"
        # Its dependencies are pinned in requirements.txt, installed just above.
        "$ROOT/.venv/bin/pip" install -q --no-deps -e "$ROOT" || die "pip install -e . (the deployer CLI) failed"
        echo "$digest" >"$stamp"
    fi
}
