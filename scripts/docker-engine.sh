#!/usr/bin/env bash
# Make a Docker engine available: install Debian's docker.io when it is missing,
# start dockerd when it is not running, and provide the base images and the images of the
# add-ons (PostgreSQL), built side by side.
# Idempotent; takes well under a second when everything is in place.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# live-restore: containers keep running while dockerd itself restarts or is upgraded, so a
# restart of the engine never stops an app. Reloadable: a running dockerd takes it on SIGHUP.
# default-address-pools: every project has a network of its own, and Docker's default pools
# (/16 and /20 networks) run out at about 30 networks; the same 172.16.0.0/12 range cut
# into /24 networks holds 4,096. Read only when dockerd starts: a running one keeps its own.
engine_config() {
    python3 - <<'PY'
import json, pathlib, sys
path = pathlib.Path("/etc/docker/daemon.json")
config = json.loads(path.read_text() or "{}") if path.exists() else {}
changed = []
if config.get("live-restore") is not True:
    config["live-restore"] = True
    changed.append("live-restore")
if "default-address-pools" not in config:
    config["default-address-pools"] = [{"base": "172.16.0.0/12", "size": 24}]
    changed.append("default-address-pools")
if not changed:
    sys.exit(1)
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(config, indent=2) + "\n")
print(" and ".join(changed))
PY
}
if [ "$(id -u)" -eq 0 ] && changed=$(engine_config); then
    say "$changed set in /etc/docker/daemon.json"
    pkill -HUP -x dockerd 2>/dev/null || true
    case $changed in
    *address-pools*) docker info >/dev/null 2>&1 &&
        say "the address pools apply from dockerd's next start" ;;
    esac
fi

if ! docker info >/dev/null 2>&1; then
    command -v dockerd >/dev/null || apt_ensure docker.io
    if ! docker info >/dev/null 2>&1; then
        [ "$(id -u)" -eq 0 ] || die "dockerd is not running and only root can start it"
        say "starting dockerd (log: var/log/dockerd.log)"
        nohup dockerd >"$VAR/log/dockerd.log" 2>&1 &
        wait_for dockerd 30 docker info
    fi
fi
apt_ensure debootstrap ca-certificates
"$ROOT/scripts/service-images.sh" & services=$!
"$ROOT/scripts/base-images.sh" "$@" || { wait "$services"; exit 1; }
wait "$services"
