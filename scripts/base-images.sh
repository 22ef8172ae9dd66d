#!/usr/bin/env bash
# Local stand-ins for the official python:X-slim images.
#
# No container registry can be reached from this kind of machine, so the
# images that generated Dockerfiles (and users' own Dockerfiles) start from
# are built here with debootstrap and `docker import`, then tagged with the
# names users write (python:3.11-slim, python:3.11-slim-bookworm, ...).
# They behave like the official ones: `python` on PATH, system-wide pip
# allowed (no EXTERNALLY-MANAGED), the host's CA bundle so pip reaches PyPI.
#
# Usage: scripts/base-images.sh [SUITE ...]   (default: $DEPLOYER_BASE_SUITES or "bookworm")
# Idempotent: a suite whose image exists is skipped; missing ones build in parallel.
set -euo pipefail

cd "$(dirname "$0")/.."
declare -A PY=([bookworm]=3.11 [trixie]=3.13 [sid]=3.14)
MIRROR=${DEPLOYER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
WORK=${DEPLOYER_ROOTFS_DIR:-/var/tmp/deployer-rootfs}

if [ "$#" -gt 0 ]; then suites=("$@"); else read -r -a suites <<<"${DEPLOYER_BASE_SUITES:-bookworm}"; fi

build_suite() {
    local suite=$1 version=${PY[$1]} dir="$WORK/$1"
    local started=$SECONDS
    rm -rf "$dir" && mkdir -p "$dir"
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        "$suite" "$dir" "$MIRROR" >"$WORK/$suite.log" 2>&1 \
        || { echo "base-images: debootstrap $suite failed, see $WORK/$suite.log" >&2; return 1; }
    cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
    ln -sf python3 "$dir/usr/bin/python"
    [ -e "$dir/usr/bin/pip" ] || ln -sf pip3 "$dir/usr/bin/pip"
    rm -f "$dir"/usr/lib/python3*/EXTERNALLY-MANAGED
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/tmp/*
    tar -C "$dir" -c . | docker import \
        --change "ENV LANG=C.UTF-8 PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change "LABEL org.deployer.role=base-image org.deployer.suite=$suite" \
        --change 'CMD ["python3"]' \
        - "python:$version-slim" >/dev/null
    docker tag "python:$version-slim" "python:$version-slim-$suite"
    docker tag "python:$version-slim" "python:$version"
    rm -rf "$dir"
    echo "base-images: python:$version-slim ($suite) ready in $((SECONDS - started)) s"
}

command -v debootstrap >/dev/null || { echo "base-images: debootstrap is missing (scripts/docker-engine.sh installs it)" >&2; exit 1; }
mkdir -p "$WORK"
pids=()
for suite in "${suites[@]}"; do
    [ -n "${PY[$suite]:-}" ] || { echo "base-images: unknown suite '$suite' (known: ${!PY[*]})" >&2; exit 2; }
    if docker image inspect "python:${PY[$suite]}-slim" >/dev/null 2>&1; then
        continue
    fi
    build_suite "$suite" & pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
