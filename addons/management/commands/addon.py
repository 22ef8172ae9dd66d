"""manage.py addon create|list|start|remove|backup|backups|restore PROJECT [KIND]: a project's
add-ons and their backups, from a terminal."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from addons import backups, engine, kinds, services
from addons.models import AddOn, Backup
from builds import docker as docker_seam
from projects.models import Project


class Command(BaseCommand):
    help = (
        "Create, list, start or remove a project's add-ons (PostgreSQL, Redis); back one up, "
        "list its backups or restore one."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "action", choices=["create", "list", "start", "remove", "backup", "backups", "restore"]
        )
        parser.add_argument("project", help="the project's name (slug)")
        parser.add_argument("kind", nargs="?", default="postgres", choices=AddOn.Kind.values)
        parser.add_argument(
            "--keep-data", action="store_true", help="remove: keep the add-on's volume"
        )
        parser.add_argument(
            "--variable",
            metavar="NAME",
            help="create: give the URL under this name (instead of DATABASE_URL / REDIS_URL)",
        )
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--latest", action="store_true", help="restore: the newest verified backup"
        )
        which.add_argument("--backup", type=int, metavar="ID", help="restore: this backup")

    def handle(
        self,
        *args,
        action: str,
        project: str,
        kind: str,
        keep_data: bool,
        variable: str | None,
        latest: bool,
        backup: int | None,
        **options,
    ):
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"No project named {project!r}.")
        if action == "list":
            return self._list(found)
        addon = found.addons.filter(kind=kind).first()
        if action == "create":
            if addon is None:
                try:
                    addon = services.create_addon(found, kind, actor="manage.py addon create")
                except services.AddOnError as exc:
                    raise CommandError(str(exc)) from exc
            if variable is not None:
                try:
                    services.set_variable(addon, variable, actor="manage.py addon create")
                except ValidationError as exc:
                    raise CommandError(" ".join(exc.messages)) from exc
            return self._provision(addon)
        if addon is None:
            raise CommandError(f"The project {project} has no {kind} add-on.")
        if action == "start":
            return self._provision(addon)
        if action in ("backup", "backups", "restore"):
            return self._backups(addon, action, latest=latest, backup_id=backup)
        with docker_seam.client() as client:
            try:
                services.remove_addon(
                    addon, client, keep_data=keep_data, actor="manage.py addon remove"
                )
            except backups.BackupError as exc:
                raise CommandError(str(exc)) from exc
        kept = f" (its volume {addon.volume_name} is kept)" if keep_data else ""
        self.stdout.write(f"Removed the {kind} add-on of {project}{kept}.")

    def _provision(self, addon: AddOn) -> None:
        self.stdout.write(f"Starting {addon.container_name} ({addon.image}) ...")
        with docker_seam.client() as client:
            addon = services.provision(addon, client)
        if addon.state != AddOn.State.READY:
            raise CommandError(addon.error)
        names = ", ".join(services.variable_names(addon))
        where = f"{addon.container_name}:{addon.spec.port}"
        if addon.kind == kinds.REDIS:
            said = f"{addon} is ready at {where}. The next deploy gives the app {names}."
        else:
            said = (
                f"{addon} is ready at {where} (database {addon.database}, user {addon.user}). "
                f"The next deploy gives the app {names}, and every database variable its "
                "settings read."
            )
        self.stdout.write(self.style.SUCCESS(said))

    def _backups(self, addon: AddOn, action: str, *, latest: bool, backup_id: int | None) -> None:
        if action == "backups":
            for row in addon.backups.all():
                unit = "keys in" if addon.kind == kinds.REDIS else "rows in"
                self.stdout.write(
                    f"#{row.pk}\t{row.state}\t{row.created_at:%Y-%m-%d %H:%M:%S}\t{row.size} B\t"
                    f"{sum(row.tables.values())} {unit} {len(row.tables)} tables\t{row.error}"
                )
            return
        with docker_seam.client() as client:
            if action == "backup":
                taken = backups.take(addon, client, reason="manage.py addon backup")
                if taken.state != Backup.State.VERIFIED:
                    raise CommandError(f"Backup #{taken.pk} failed: {taken.error}")
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Backup #{taken.pk} verified by a restore: {len(taken.tables)} "
                        f"{'databases' if addon.kind == kinds.REDIS else 'tables'}, "
                        f"{sum(taken.tables.values())} "
                        f"{'keys' if addon.kind == kinds.REDIS else 'rows'}, {taken.size} bytes "
                        f"({taken.path})."
                    )
                )
                return
            if not latest and backup_id is None:
                raise CommandError("Say which backup: --latest or --backup ID.")
            chosen = (
                addon.backups.filter(state=Backup.State.VERIFIED).first()
                if latest
                else addon.backups.filter(pk=backup_id).first()
            )
            if chosen is None:
                raise CommandError(
                    f"No {'verified ' if latest else ''}backup of {addon} to restore."
                )
            try:
                safety = backups.restore(addon, chosen, client, actor="manage.py addon restore")
            except backups.BackupError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored backup #{chosen.pk} into {addon.container_name} "
                f"(safety backup #{safety.pk} taken first)."
            )
        )

    def _list(self, project: Project) -> None:
        with docker_seam.client() as client:
            for addon in project.addons.all():
                status = engine.status(client, addon.container_name)
                self.stdout.write(
                    f"{addon.kind}\t{addon.state}\t{addon.container_name}\t{status}\t{addon.volume_name}"
                )
