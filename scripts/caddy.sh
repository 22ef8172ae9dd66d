#!/usr/bin/env bash
# Start Debian's caddy as Deployer's router for development and tests. Idempotent: does
# nothing when Caddy's admin API already answers. Its initial JSON config holds the admin
# endpoint and one plain-HTTP server with no routes; Deployer's worker fills in the routes
# from the database (at start and every DEPLOYER_ROUTE_RECONCILE_INTERVAL seconds). Started
# again, Caddy resumes the last routes it was given (var/caddy/<port>/config/caddy/autosave.json).
#
# Reads the same variables as Deployer: DEPLOYER_CADDY_ADMIN_URL (http://127.0.0.1:2019),
# DEPLOYER_HTTP_PORT (8080), DEPLOYER_HTTP_BIND (127.0.0.1). Data and config under var/caddy/,
# log in var/log/caddy.log (var/log/caddy-<admin port>.log for a non-default admin port).
# Stop it with: kill "$(cat var/caddy/<admin port>/caddy.pid)"
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v caddy >/dev/null || apt_ensure caddy
command -v curl >/dev/null || apt_ensure curl

ADMIN_URL=${DEPLOYER_CADDY_ADMIN_URL:-http://127.0.0.1:2019}
ADMIN_URL=${ADMIN_URL%/}
ADMIN=${ADMIN_URL#http://}
HTTP_PORT=${DEPLOYER_HTTP_PORT:-8080}
HTTP_BIND=${DEPLOYER_HTTP_BIND-127.0.0.1}
[[ "$ADMIN_URL" == http://* && "$ADMIN" == *:* ]] || die "DEPLOYER_CADDY_ADMIN_URL must look like http://127.0.0.1:2019"
[[ "$HTTP_PORT" =~ ^[0-9]+$ ]] || die "DEPLOYER_HTTP_PORT must be a port number"

# Caddy applies every route switch by reloading: it opens a new SO_REUSEPORT listener and
# closes the old one, and the kernel resets the connections still waiting in the old one's
# accept queue (about one per reload under steady load) unless it may hand them to the new
# listener (Linux 5.14+). Measured: 42 resets in 40 reloads without it, none with it.
if [ "$(cat /proc/sys/net/ipv4/tcp_migrate_req 2>/dev/null)" = 0 ]; then
    sysctl -qw net.ipv4.tcp_migrate_req=1 2>/dev/null \
        || say "warning: could not set net.ipv4.tcp_migrate_req=1 (needs root): a route switch may reset a connection that arrives at that instant"
fi

admin_answers() { curl -fsS --max-time 2 "$ADMIN_URL/config/" >/dev/null 2>&1; }
admin_answers && exit 0

ADMIN_PORT=${ADMIN##*:}
DIR="$VAR/caddy/$ADMIN_PORT"
LOG="$VAR/log/caddy.log"
[ "$ADMIN_PORT" = 2019 ] || LOG="$VAR/log/caddy-$ADMIN_PORT.log"
mkdir -p "$DIR/data" "$DIR/config"

# The database is the source of the routes (the worker sets them at each switch and every
# DEPLOYER_ROUTE_RECONCILE_INTERVAL seconds); Caddy also keeps the last config it was given
# (autosave) and resumes it when it starts again, so a restart costs only its own time.
# The same server config the worker computes (routing/config.py, stdlib only), with no site.
(cd "$ROOT" && python3 -m routing.config "$ADMIN" "$DIR/data" "$HTTP_BIND" "$HTTP_PORT") >"$DIR/initial.json"

say "starting caddy: admin $ADMIN_URL, apps on http://$HTTP_BIND:$HTTP_PORT (log: ${LOG#"$ROOT"/})"
XDG_DATA_HOME="$DIR/data" XDG_CONFIG_HOME="$DIR/config" \
    setsid nohup caddy run --resume --config "$DIR/initial.json" >>"$LOG" 2>&1 </dev/null &
echo $! >"$DIR/caddy.pid"
wait_for caddy 15 admin_answers
