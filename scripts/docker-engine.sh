#!/usr/bin/env bash
# Make a Docker engine available: install Debian's docker.io when it is missing,
# start dockerd when it is not running, and provide the base images and the images of the
# add-ons (PostgreSQL), built side by side.
# Idempotent; takes well under a second when everything is in place.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

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
