"""`manage.py platform backup|backups|restore|doctor`: the platform's own operations."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from deployer import doctor, platform_backup, upgrade
from deployer.models import PlatformBackup


class Command(BaseCommand):
    help = "Back up, list, restore and check the Deployer platform itself."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        backup = sub.add_parser("backup", help="Back up Deployer's database and verify it.")
        backup.add_argument(
            "--key-file",
            type=Path,
            help="Also write the secrets key to this file (never beside the backups: keep it apart).",
        )
        sub.add_parser("backups", help="List the platform backups.")
        restore = sub.add_parser("restore", help="Restore a backup onto an empty installation.")
        restore.add_argument("file", type=Path)
        sub.add_parser("doctor", help="Check what a production install needs.")
        sub.add_parser(
            "migrate",
            help="Before web and worker start: refuse an older version, migrate once, make the admin.",
        )

    def handle(self, *args, action: str, **options) -> None:
        getattr(self, f"_{action}")(**options)

    def _backup(self, key_file: Path | None = None, **options) -> None:
        if key_file:
            try:
                platform_backup.write_key_file(key_file)
            except (platform_backup.PlatformBackupError, OSError) as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"Secrets key written to {key_file}: keep it apart from the backups.")
        backup = platform_backup.take(reason="manage.py platform backup")
        if backup.state != PlatformBackup.State.VERIFIED:
            raise CommandError(f"Platform backup #{backup.pk} failed: {backup.error}")
        removed = platform_backup.prune(settings.DEPLOYER_PLATFORM_BACKUP_KEEP)
        self.stdout.write(
            self.style.SUCCESS(
                f"Platform backup #{backup.pk} verified: {backup.path} ({backup.size} bytes, "
                f"{len(backup.restored_tables)} tables, {backup.secrets_checked} secrets decrypted)."
            )
        )
        if removed:
            self.stdout.write(f"Removed {len(removed)} older backup(s).")
        if not key_file:
            self.stdout.write(
                "The secrets key is not in the backup: without DEPLOYER_SECRETS_KEY every stored "
                "environment variable is lost. Save it once with --key-file PATH, kept elsewhere."
            )

    def _backups(self, **options) -> None:
        for backup in PlatformBackup.objects.all()[:50]:
            when = f"{backup.created_at:%Y-%m-%d %H:%M}"
            self.stdout.write(
                f"#{backup.pk}  {when}  {backup.state:<8}  {backup.size:>10}  "
                f"{backup.path or '-'}  {backup.error[:120]}"
            )

    def _restore(self, file: Path, **options) -> None:
        try:
            manifest = platform_backup.restore(file)
        except platform_backup.PlatformBackupError as exc:
            raise CommandError(str(exc)) from None
        call_command("migrate", "--noinput", verbosity=0)
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {file} (Deployer {manifest.get('deployer_version')}, taken "
                f"{manifest.get('created_at')}); every stored secret decrypts with this "
                "installation's DEPLOYER_SECRETS_KEY."
            )
        )

    def _migrate(self, **options) -> None:
        try:
            with upgrade.migration_lock():
                upgrade.refuse_older_version()
                call_command("migrate", "--noinput")
        except upgrade.UpgradeRefused as exc:
            raise CommandError(str(exc)) from None
        call_command("ensure_admin")

    def _doctor(self, **options) -> None:
        findings = doctor.run()
        for finding in findings:
            mark = self.style.SUCCESS("ok ") if finding.ok else self.style.ERROR("FIX")
            self.stdout.write(f"{mark} {finding.name}: {finding.detail}")
            if finding.fix:
                self.stdout.write(f"    -> {finding.fix}")
        failing = [finding.name for finding in findings if not finding.ok]
        if failing:
            raise CommandError(f"{len(failing)} to fix: {', '.join(failing)}.")
        self.stdout.write(self.style.SUCCESS("Ready for production."))
