#!/usr/bin/env bash
# Quick start: set everything up and run the dashboard and a Celery worker, which runs beat's
# schedule in a thread, in the foreground (Ctrl-C stops both). Embedded defaults: SQLite file and a
# file-system broker under var/, unless DATABASE_URL / REDIS_URL say otherwise.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

command -v python3 >/dev/null || apt_ensure python3
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_ensure python3-venv
command -v git >/dev/null || apt_ensure git
ensure_venv requirements.txt

if [ "$(id -u)" -eq 0 ]; then
    "$ROOT/scripts/docker-engine.sh" || say "the Docker engine is not ready: deploys will fail until it is (see above)"
elif ! docker info >/dev/null 2>&1; then
    say "no Docker engine reachable: the dashboard runs, deploys need one (run scripts/docker-engine.sh as root)"
fi

"$ROOT/scripts/caddy.sh" || say "Caddy did not start: apps stay reachable on their 127.0.0.1 ports only"

.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py ensure_admin
# A supervisor without Django (scripts/devstack.py): the dashboard, and one worker that also
# runs beat's schedule in a thread.
exec .venv/bin/python scripts/devstack.py "$@"
