#!/usr/bin/env bash
# Start what the integration tests and a production-like run need on this host:
# PostgreSQL (a "deployer" role that may create databases), Redis on loopback,
# and the Docker engine with its base images. Idempotent and fast when all run.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

apt_ensure postgresql redis-server git

if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    say "starting redis on 127.0.0.1:6379"
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no \
        --logfile "$VAR/log/redis.log"
    wait_for redis 10 redis-cli -h 127.0.0.1 ping
fi

PG_VERSION=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_isready -h 127.0.0.1 -q; then
    pg_lsclusters -h | grep -q "^$PG_VERSION main" || pg_createcluster "$PG_VERSION" main >/dev/null
    say "starting postgresql $PG_VERSION"
    pg_ctlcluster "$PG_VERSION" main start
    wait_for postgresql 30 pg_isready -h 127.0.0.1 -q
fi
su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='deployer'\"" | grep -q 1 \
    || su postgres -c "psql -qc \"CREATE ROLE deployer LOGIN CREATEDB PASSWORD 'deployer'\""
su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='deployer'\"" | grep -q 1 \
    || su postgres -c "createdb -O deployer deployer"

"$ROOT/scripts/docker-engine.sh" "$@"
