#!/usr/bin/env bash
# The whole test suite on the real services: installs and starts what is missing
# (PostgreSQL, Redis, Docker, base images, Chromium), then ruff and pytest.
# Extra arguments go to pytest, e.g. `scripts/test.sh -m unit` or `-m integration`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

apt_ensure python3-venv git curl openssl chromium fonts-dejavu-core caddy openssh-server  # curl, openssl: the post-receive hook in the webhook test; chromium: browser tests; caddy: routing; openssh-server: the deploy key test
# Python 3.11, 3.13 and 3.14 base images: tests deploy apps that ask for each.
export DEPLOYER_BASE_SUITES=${DEPLOYER_BASE_SUITES:-bookworm trixie sid}
"$ROOT/scripts/services.sh"
"$ROOT/scripts/caddy.sh"  # the router the routing tests go through (DEPLOYER_CADDY_ADMIN_URL, DEPLOYER_HTTP_PORT)
ensure_venv requirements-dev.txt

export DATABASE_URL=${TEST_DATABASE_URL:-postgres://deployer:deployer@127.0.0.1:5432/deployer}
export REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
export DEPLOYER_ALLOW_LOCAL_REPOS=true
# The test run is an installation of its own: a running stack on the same engine keeps its apps.
export DEPLOYER_INSTALLATION_ID=${DEPLOYER_INSTALLATION_ID:-test-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')}
unset DEPLOYER_ENV

say "ruff"
.venv/bin/ruff check . && .venv/bin/ruff format --check --quiet . || die "ruff found problems (run: .venv/bin/ruff check --fix . && .venv/bin/ruff format .)"
say "pytest"
exec .venv/bin/python -m pytest "$@"
