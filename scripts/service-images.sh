#!/usr/bin/env bash
# Local stand-ins for the official images of the services apps and Deployer's own stack use
# (postgres, redis, caddy).
#
# No container registry can be reached from this kind of machine, so the
# images that project services run are built here from Debian's packages with
# debootstrap and `docker import`, like scripts/base-images.sh does for Python.
# Each is tagged with the version it really contains (postgres:15 holds
# Debian bookworm's PostgreSQL 15.x) and keeps the official image's contract:
# same entrypoint and environment variables, same uid 999, same data path.
# Where a registry IS reachable, the official image is pulled instead.
#
# Usage: scripts/service-images.sh [SERVICE ...]   (default: postgres redis caddy)
# Idempotent: a service whose image exists is skipped; missing ones build in parallel.
set -euo pipefail

cd "$(dirname "$0")/.."
MIRROR=${DEPLOYER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEPLOYER_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
WORK=${DEPLOYER_ROOTFS_DIR:-/var/tmp/deployer-rootfs}

# The tags each service provides. The first one existing means the service is done;
# the official image of that name is what a reachable registry gives instead.
# redis and caddy: the minor version bookworm ships (7.0.x, 2.6.x), the one docker-compose.yml names.
declare -A TAGS=([postgres]="postgres:15 postgres:15-bookworm" [redis]="redis:7.0 redis:7.0-bookworm"
    [caddy]="caddy:2.6")

if [ "$#" -gt 0 ]; then services=("$@"); else services=(postgres redis caddy); fi

# in_root DIR COMMAND...: COMMAND as root inside the rootfs, without questions or locale noise.
in_root() {
    local dir=$1; shift
    LC_ALL=C DEBIAN_FRONTEND=noninteractive chroot "$dir" "$@"
}

# minbase_rootfs DIR SUITE LOG: a fresh minimal Debian SUITE in DIR, ready for apt-get install.
minbase_rootfs() {
    local dir=$1 suite=$2 log=$3
    rm -rf "$dir" && mkdir -p "$dir"
    debootstrap --variant=minbase "$suite" "$dir" "$MIRROR" >"$log" 2>&1 \
        || { echo "service-images: debootstrap $suite failed, see $log" >&2; return 1; }
    # Point releases and security fixes: the official images track the newest minor version too.
    cat >"$dir/etc/apt/sources.list" <<EOF
deb $MIRROR $suite main
deb $MIRROR $suite-updates main
deb $SECURITY_MIRROR $suite-security main
EOF
    # Package scripts must not start daemons inside the chroot.
    printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
    chmod 755 "$dir/usr/sbin/policy-rc.d"
    # Like Docker's debian:*-slim: what apps install on top later skips docs and translations too.
    cat >"$dir/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    in_root "$dir" apt-get update -q >>"$log" 2>&1 \
        || { echo "service-images: apt-get update in the $suite rootfs failed, see $log" >&2; return 1; }
}

# slim_rootfs DIR: drop what a server never reads (apt's caches, docs, manuals, translations).
slim_rootfs() {
    local dir=$1
    rm -f "$dir/usr/sbin/policy-rc.d"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/cache/apt/*.bin "$dir"/var/lib/apt/lists/* \
        "$dir"/var/cache/debconf/*-old "$dir"/var/log/apt/* "$dir"/var/log/*.log "$dir"/tmp/* \
        "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/lintian/*
    # glibc still reads locale.alias; the rest are message catalogues.
    find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
}

# postgres: the official postgres:15 image's contract on Debian bookworm's postgresql-15.
build_postgres() {
    local major=15 suite=bookworm dir="$WORK/postgres-bookworm" log="$WORK/postgres-bookworm.log"
    local stage="deployer-rootfs/postgres:$suite" version minor pkgver
    minbase_rootfs "$dir" "$suite" "$log" || return 1
    # The official image's ids, created before the package so that it reuses them: data
    # directories stay interchangeable with the official image's, and Deployer runs the
    # container as --user 999:999 with no capabilities at all.
    in_root "$dir" groupadd -r -g 999 postgres
    in_root "$dir" useradd -r -g postgres -u 999 -d /var/lib/postgresql -s /bin/bash postgres
    # The entrypoint runs initdb on first start; Debian's default "main" cluster would only be dead weight.
    mkdir -p "$dir/etc/postgresql-common/createcluster.d"
    echo 'create_main_cluster = false' >"$dir/etc/postgresql-common/createcluster.d/inhibit-main-cluster.conf"
    # libnss-wrapper: initdb needs a passwd entry, which an arbitrary --user uid does not have.
    in_root "$dir" apt-get install -y -q --no-install-recommends "postgresql-$major" libnss-wrapper >>"$log" 2>&1 \
        || { echo "service-images: apt-get install postgresql-$major failed, see $log" >&2; return 1; }

    # Tag with what is really inside: "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)".
    version=$(in_root "$dir" "/usr/lib/postgresql/$major/bin/postgres" --version)
    [[ $version =~ \(PostgreSQL\)\ ($major\.[0-9]+) ]] \
        || { echo "service-images: $suite's postgresql-$major is not PostgreSQL $major.x: $version" >&2; return 1; }
    minor=${BASH_REMATCH[1]}
    pkgver=$(in_root "$dir" dpkg-query -W -f='${Version}' "postgresql-$major")
    [ "$(in_root "$dir" id -u postgres):$(in_root "$dir" id -g postgres)" = 999:999 ] \
        || { echo "service-images: the postgres user is not 999:999 in the rootfs" >&2; return 1; }
    in_root "$dir" test -x /usr/bin/setpriv \
        || { echo "service-images: setpriv is missing from the $suite rootfs" >&2; return 1; }

    # Every cluster initdb creates listens on all addresses, like the official image's.
    sed -ri "s/^#?(listen_addresses)\s*=\s*\S+.*/\1 = '*'/" "$dir/usr/share/postgresql/$major/postgresql.conf.sample"
    grep -q "^listen_addresses = '\*'" "$dir/usr/share/postgresql/$major/postgresql.conf.sample" \
        || { echo "service-images: could not set listen_addresses in postgresql.conf.sample" >&2; return 1; }
    # $PGDATA and the socket directory belong to 999 and are writable without root: a named
    # volume mounted there starts with this ownership, and --user 999:999 needs no chown.
    # (Under $dir/run: $dir/var/run is an absolute link to /run, the host's own.)
    mkdir -p "$dir/var/lib/postgresql/data" "$dir/run/postgresql" "$dir/docker-entrypoint-initdb.d"
    chown 999:999 "$dir/var/lib/postgresql" "$dir/var/lib/postgresql/data" "$dir/run/postgresql"
    chmod 1777 "$dir/var/lib/postgresql/data"
    chmod 3777 "$dir/run/postgresql"
    # ssl-cert's snakeoil key, made once here, would be the same private key in every container.
    rm -f "$dir/etc/ssl/private/ssl-cert-snakeoil.key" "$dir/etc/ssl/certs/ssl-cert-snakeoil.pem"
    rm -rf "$dir/usr/share/postgresql/$major/man"
    write_postgres_entrypoint "$dir/usr/local/bin/docker-entrypoint.sh"
    ln -sf usr/local/bin/docker-entrypoint.sh "$dir/docker-entrypoint.sh"  # the official's old path
    slim_rootfs "$dir"

    tar -C "$dir" --numeric-owner -c . | docker import \
        --change "ENV PG_MAJOR=$major PG_VERSION=$pkgver PGDATA=/var/lib/postgresql/data LANG=C.UTF-8 PATH=/usr/lib/postgresql/$major/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change "LABEL org.deployer.role=service-image org.deployer.service=postgres org.deployer.suite=$suite" \
        --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
        --change 'EXPOSE 5432' \
        --change 'CMD ["postgres"]' \
        - "$stage" >/dev/null \
        || { echo "service-images: docker import of the postgres rootfs failed" >&2; return 1; }
    # docker import refuses STOPSIGNAL (SIGINT: postgres's "fast" shutdown, the official's
    # choice), so one metadata-only build step adds it; the classic builder never pulls a
    # local FROM image.
    printf 'FROM %s\nSTOPSIGNAL SIGINT\n' "$stage" | DOCKER_BUILDKIT=0 docker build -q \
        -t "postgres:$major" -t "postgres:$major-$suite" -t "postgres:$minor" -t "postgres:$minor-$suite" - >>"$log" 2>&1 \
        || { echo "service-images: docker build of postgres:$major failed, see $log" >&2; return 1; }
    docker rmi "$stage" >/dev/null  # only untags it: postgres:15 is built on it
    rm -rf "$dir"
    echo "service-images: postgres:$major (PostgreSQL $minor, $suite) ready in $((SECONDS - started)) s"
}

# install_in_rootfs DIR LOG PACKAGE...: the Debian packages, as apt-get would on a server.
install_in_rootfs() {
    local dir=$1 log=$2; shift 2
    in_root "$dir" apt-get install -y -q --no-install-recommends "$@" >>"$log" 2>&1 \
        || { echo "service-images: apt-get install $* failed, see $log" >&2; return 1; }
}

# redis: the official redis:7 image's contract (redis-server as uid 999 in /data, port 6379,
# `docker-entrypoint.sh redis-server ...`) on Debian bookworm's redis-server.
build_redis() {
    local suite=bookworm dir="$WORK/redis-bookworm" log="$WORK/redis-bookworm.log" version minor
    minbase_rootfs "$dir" "$suite" "$log" || return 1
    in_root "$dir" groupadd -r -g 999 redis
    in_root "$dir" useradd -r -g redis -u 999 -d /data -s /usr/sbin/nologin redis
    install_in_rootfs "$dir" "$log" redis-server || return 1
    # "Redis server v=7.0.15 sha=..." -> 7.0
    version=$(in_root "$dir" redis-server --version)
    [[ $version =~ v=([0-9]+\.[0-9]+)\.[0-9]+ ]] \
        || { echo "service-images: cannot read redis-server's version: $version" >&2; return 1; }
    minor=${BASH_REMATCH[1]}
    mkdir -p "$dir/data" && chown 999:999 "$dir/data"
    cat >"$dir/usr/local/bin/docker-entrypoint.sh" <<'EOS'
#!/bin/sh
# Stand-in for the official redis image's entrypoint: `-flag` or a .conf file means
# redis-server; started as root, redis-server drops to the redis user (uid 999). Like the
# official image, protected mode is off unless asked for: the container's network is the fence.
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ]; then
    case " $* " in *" --protected-mode "*) ;; *) set -- "$@" --protected-mode no ;; esac
fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' + 2>/dev/null || :
    exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
exec "$@"
EOS
    chmod 755 "$dir/usr/local/bin/docker-entrypoint.sh"
    slim_rootfs "$dir"
    tar -C "$dir" --numeric-owner -c . | docker import \
        --change "ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change "LABEL org.deployer.role=service-image org.deployer.service=redis org.deployer.suite=$suite" \
        --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
        --change 'WORKDIR /data' --change 'VOLUME /data' --change 'EXPOSE 6379' \
        --change 'CMD ["redis-server"]' \
        - "redis:$minor" >/dev/null \
        || { echo "service-images: docker import of the redis rootfs failed" >&2; return 1; }
    docker tag "redis:$minor" "redis:$minor-$suite"
    rm -rf "$dir"
    echo "service-images: redis:$minor ($suite) ready in $((SECONDS - started)) s"
}

# caddy: the official caddy:2 image's contract (config in /config, data in /data, the
# Caddyfile at /etc/caddy/Caddyfile, ports 80, 443, 2019) on Debian bookworm's caddy.
build_caddy() {
    local suite=bookworm dir="$WORK/caddy-bookworm" log="$WORK/caddy-bookworm.log" version minor
    minbase_rootfs "$dir" "$suite" "$log" || return 1
    # wget: the official (Alpine) image has busybox's, which health checks use.
    install_in_rootfs "$dir" "$log" caddy ca-certificates wget || return 1
    # "v2.6.2" (Debian's build may add text after it) -> 2.6
    version=$(in_root "$dir" caddy version)
    [[ $version =~ ^v?([0-9]+\.[0-9]+)\.[0-9]+ ]] \
        || { echo "service-images: cannot read caddy's version: $version" >&2; return 1; }
    minor=${BASH_REMATCH[1]}
    mkdir -p "$dir/config" "$dir/data" "$dir/srv" "$dir/etc/caddy"
    printf ':80 {\n\troot * /usr/share/caddy\n\tfile_server\n}\n' >"$dir/etc/caddy/Caddyfile"
    slim_rootfs "$dir"
    tar -C "$dir" --numeric-owner -c . | docker import \
        --change "ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change "LABEL org.deployer.role=service-image org.deployer.service=caddy org.deployer.suite=$suite" \
        --change 'WORKDIR /srv' --change 'VOLUME /config' --change 'VOLUME /data' \
        --change 'EXPOSE 80' --change 'EXPOSE 443' --change 'EXPOSE 2019' \
        --change 'CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]' \
        - "caddy:$minor" >/dev/null \
        || { echo "service-images: docker import of the caddy rootfs failed" >&2; return 1; }
    rm -rf "$dir"
    echo "service-images: caddy:$minor ($suite) ready in $((SECONDS - started)) s"
}

# The official image's docker-entrypoint.sh, reduced to what an app platform relies on.
write_postgres_entrypoint() {
    cat >"$1" <<'ENTRYPOINT'
#!/usr/bin/env bash
# Entrypoint of Deployer's stand-in for the official postgres image, with its contract:
#   POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER
#   (postgres), POSTGRES_DB ($POSTGRES_USER), POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD
#   (scram-sha-256), each also as *_FILE (Docker secrets). On the first start, with no
#   database in $PGDATA, it runs initdb, creates POSTGRES_DB, runs
#   /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz, then starts postgres.
# Started as root it drops to postgres (uid 999); started as --user 999:999 it needs no
# privilege at all, which is how Deployer runs it.
set -Eeo pipefail  # no -u: .sh init scripts are sourced into this shell, as in the official

# file_env VAR [DEFAULT]: export VAR from $VAR, or from the file that $VAR_FILE names.
file_env() {
    local var=$1 file_var="${1}_FILE" val=${2:-}
    if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
        echo "error: both $var and $file_var are set (but are exclusive)" >&2
        exit 1
    fi
    if [ -n "${!var:-}" ]; then val=${!var}; elif [ -n "${!file_var:-}" ]; then val=$(<"${!file_var}"); fi
    export "$var=$val"
    unset "$file_var"
}

# True when postgres is only asked to describe itself: no database needed for that.
want_help() {
    local arg
    for arg; do
        case $arg in -'?' | --help | --describe-config | -V | --version) return 0 ;; esac
    done
    return 1
}

psql_init() { psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"; }

init_database() {
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    file_env POSTGRES_INITDB_ARGS
    : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
        cat >&2 <<'EOM'
error: Database is uninitialized and superuser password is not specified.
       Set POSTGRES_PASSWORD to a non-empty value for the superuser,
       e.g. "-e POSTGRES_PASSWORD=password" on "docker run".
       (POSTGRES_HOST_AUTH_METHOD=trust accepts connections without any password:
       never use it where anything untrusted can reach the port.)
EOM
        exit 1
    fi
    if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
        echo "warning: POSTGRES_HOST_AUTH_METHOD=trust: connections need no password" >&2
    fi

    # initdb needs a passwd entry for its uid; an arbitrary --user gets one from nss_wrapper.
    local wrapper
    if ! getent passwd "$(id -u)" >/dev/null; then
        for wrapper in /usr/lib/*/libnss_wrapper.so; do
            [ -e "$wrapper" ] || continue
            NSS_WRAPPER_PASSWD=$(mktemp) NSS_WRAPPER_GROUP=$(mktemp)
            printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$(id -u)" "$(id -g)" "$PGDATA" >"$NSS_WRAPPER_PASSWD"
            printf 'postgres:x:%s:\n' "$(id -g)" >"$NSS_WRAPPER_GROUP"
            export LD_PRELOAD=$wrapper NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
        done
    fi
    # The password goes through a pipe, never argv or a file. The newline because initdb
    # refuses an empty password file (trust with no password). eval: POSTGRES_INITDB_ARGS
    # may quote, as with the official image.
    eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" '"$POSTGRES_INITDB_ARGS"
    if [ -n "${NSS_WRAPPER_PASSWD:-}" ]; then
        rm -f "$NSS_WRAPPER_PASSWD" "$NSS_WRAPPER_GROUP"
        unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
    fi
    printf '\n# any address, with a password (docker-entrypoint.sh)\nhost all all all %s\n' \
        "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

    # A temporary server for the set-up, on a private socket only: no TCP, and nothing on
    # /var/run/postgresql, so pg_isready answers only once the real server is up.
    local sockdir f
    sockdir=$(mktemp -d)
    export PGHOST=$sockdir PGPASSWORD=${PGPASSWORD:-$POSTGRES_PASSWORD}
    pg_ctl -D "$PGDATA" -w start \
        -o "-c listen_addresses='' -c unix_socket_directories=$sockdir -p ${PGPORT:-5432}"

    if [ "$POSTGRES_DB" != postgres ] \
        && [ -z "$(psql_init --dbname postgres --tuples-only --set db="$POSTGRES_DB" <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")" ]; then
        psql_init --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
    echo
    for f in /docker-entrypoint-initdb.d/*; do
        case $f in
            *.sh)
                # executable scripts run on their own; the others are sourced, as in the official
                if [ -x "$f" ]; then echo "$0: running $f"; "$f"; else echo "$0: sourcing $f"; . "$f"; fi ;;
            *.sql) echo "$0: running $f"; psql_init --dbname "$POSTGRES_DB" -f "$f"; echo ;;
            *.sql.gz) echo "$0: running $f"; gunzip -c "$f" | psql_init --dbname "$POSTGRES_DB"; echo ;;
            *) [ -e "$f" ] && echo "$0: ignoring $f" ;;
        esac
    done

    pg_ctl -D "$PGDATA" -m fast -w stop
    rm -rf "$sockdir"
    unset PGHOST PGPASSWORD
    echo
    echo 'PostgreSQL init process complete; ready for start up.'
    echo
}

if [ "${1:0:1}" = - ]; then set -- postgres "$@"; fi

if [ "$1" = postgres ] && ! want_help "$@"; then
    mkdir -p "$PGDATA" /var/run/postgresql 2>/dev/null || :
    chmod 0700 "$PGDATA" 2>/dev/null || :  # postgres refuses a data directory others can read
    if [ "$(id -u)" = 0 ]; then
        # The official image's gosu step: the data belongs to postgres, which runs the rest.
        chmod 3777 /var/run/postgresql
        find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
        exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
    fi
    if [ -s "$PGDATA/PG_VERSION" ]; then
        echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
        echo
    else
        init_database
    fi
fi

exec "$@"
ENTRYPOINT
    chmod 755 "$1"
}

# build SERVICE: the official image when a registry answers, else the local stand-in.
build() {
    local service=$1 tags tag started=$SECONDS  # build_* report their time from $started
    read -r -a tags <<<"${TAGS[$service]}"
    # A short timeout: an unreachable registry usually fails at once, a filtered one hangs.
    if timeout 60 docker pull "${tags[0]}" >"$WORK/$service-pull.log" 2>&1; then
        for tag in "${tags[@]:1}"; do timeout 60 docker pull "$tag" >>"$WORK/$service-pull.log" 2>&1 || :; done
        rm -f "$WORK/$service-pull.log"
        echo "service-images: ${tags[0]} (official, pulled) ready in $((SECONDS - started)) s"
        return 0
    fi
    rm -f "$WORK/$service-pull.log"
    "build_$service"
}

command -v debootstrap >/dev/null || { echo "service-images: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
mkdir -p "$WORK"
pids=()
for service in "${services[@]}"; do
    case $service in
        postgres | redis | caddy) ;;
        *) echo "service-images: unknown service '$service' (known: ${!TAGS[*]})" >&2; exit 2 ;;
    esac
    if docker image inspect "${TAGS[$service]%% *}" >/dev/null 2>&1; then
        continue
    fi
    build "$service" & pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
