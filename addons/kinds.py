"""What differs between the kinds of add-on: image, port, data folder, how it is started,
how it says it is ready, and the URL it gives the app. Plain values: no engine, no ORM."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings

POSTGRES = "postgres"
REDIS = "redis"


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    port: int
    data_dir: str
    # The official images' service user (uid 999), and the local stand-ins'.
    user: str
    # The variable holding the connection URL, unless the project renames it.
    url_variable: str
    image_setting: str

    @property
    def image(self) -> str:
        return getattr(settings, self.image_setting)


KINDS = {
    POSTGRES: Kind(
        POSTGRES,
        "PostgreSQL",
        5432,
        "/var/lib/postgresql/data",
        "999:999",
        "DATABASE_URL",
        "DEPLOYER_ADDON_POSTGRES_IMAGE",
    ),
    REDIS: Kind(
        REDIS,
        "Redis",
        6379,
        "/data",
        "999:999",
        "REDIS_URL",
        "DEPLOYER_ADDON_REDIS_IMAGE",
    ),
}

# Redis keeps its data as RDB snapshots in /data: at most a minute of writes is lost if the
# container is killed (a clean stop saves), and a restore is one file put in place (with
# appendonly on, Redis 7 would ignore a dump.rdb next to its AOF). The password comes from
# the container's environment, never the command line docker inspect shows. No replica ever
# connects, so the snapshot `redis-cli --rdb` asks for starts at once (Redis would otherwise
# wait 5 s for more replicas to share it).
REDIS_SERVER = (
    'exec redis-server --requirepass "$REDIS_PASSWORD" --dir /data --dbfilename dump.rdb '
    '--appendonly no --save "60 1" --protected-mode no --repl-diskless-sync-delay 0'
)


def of(name: str) -> Kind:
    return KINDS[name]


def server_command(kind: str) -> list[str] | None:
    """The container's command, or None for the image's own (PostgreSQL's entrypoint)."""
    return ["sh", "-c", REDIS_SERVER] if kind == REDIS else None


def container_environment(kind: str, *, user: str, database: str, password: str) -> dict[str, str]:
    """The add-on container's variables. REDISCLI_AUTH lets redis-cli run in it (health
    checks, backups) with no password on any command line."""
    if kind == REDIS:
        return {"REDIS_PASSWORD": password, "REDISCLI_AUTH": password}
    return {"POSTGRES_USER": user, "POSTGRES_PASSWORD": password, "POSTGRES_DB": database}


def ready_command(kind: str, *, user: str, database: str) -> list[str]:
    """A command run inside the add-on's container that exits 0 once it serves clients.

    PostgreSQL: pg_isready on the server's network address, so it says yes only after
    initdb's temporary socket-only server has given way to the real one. Redis: a PING
    answered PONG (redis-cli exits 0 on an error reply too, so the answer is read).
    """
    if kind == REDIS:
        return ["sh", "-c", "redis-cli -h 127.0.0.1 ping 2>/dev/null | grep -qx PONG"]
    return ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432", "-U", user, "-d", database]


def url(kind: str, *, host: str, user: str, password: str, database: str) -> str:
    port = of(kind).port
    secret = quote(password, safe="")
    if kind == REDIS:
        return f"redis://:{secret}@{host}:{port}/0"
    return f"postgres://{quote(user, safe='')}:{secret}@{host}:{port}/{quote(database, safe='')}"
