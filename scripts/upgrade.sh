#!/usr/bin/env bash
# Upgrade a running Deployer to this checkout (README, "Production"): build the new image,
# run its migrations once while the running version keeps serving, then replace web and
# worker (which runs beat's schedule; a `beat` service of an older version is removed). Apps keep answering throughout (Caddy and the app containers are not touched).
#
# A migration that fails stops here: nothing was replaced, the running version goes on.
# A version older than the database is refused by the same migrate step, in one sentence.
# Usage: scripts/upgrade.sh [docker-compose options, e.g. -p NAME --env-file FILE -f FILE]
#   DEPLOYER_SKIP_BUILD=1: use the image DEPLOYER_IMAGE names as it is (tests do).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

compose() { .venv/bin/docker-compose "$@"; }
[ -x .venv/bin/docker-compose ] || die "no .venv/bin/docker-compose: run scripts/install.sh first"

if [ -z "${DEPLOYER_SKIP_BUILD:-}" ]; then
    say "building the new image"
    DEPLOYER_VERSION=${DEPLOYER_VERSION:-$(git describe --always --dirty 2>/dev/null || echo dev)} \
        compose "$@" build migrate >"$VAR/log/image-build.log" 2>&1 \
        || die "building the image failed (the running version is untouched), see $VAR/log/image-build.log"
fi
# Compose would stop every service that depends on `migrate` before it knew whether the
# migration succeeds; so it runs alone first, beside the running web and worker.
say "migrating (the running version keeps serving)"
compose "$@" run --rm --no-deps migrate \
    || die "the new version's migrate step failed (see above): nothing was replaced, the running version goes on"
say "replacing web and worker"
# --remove-orphans: versions before issue 22 ran beat as a service of its own; left running it
# would send every scheduled task twice beside the worker's own schedule.
compose "$@" up -d --remove-orphans
say "upgraded"
