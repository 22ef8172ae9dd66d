from __future__ import annotations

from django.contrib import admin

from deployer.models import EngineReport, PlatformBackup


@admin.register(PlatformBackup)
class PlatformBackupAdmin(admin.ModelAdmin):
    list_display = ["pk", "created_at", "state", "engine", "size", "verified_at", "reason"]
    list_filter = ["state", "engine"]
    search_fields = ["path", "error", "reason"]
    readonly_fields = [field.name for field in PlatformBackup._meta.fields]


@admin.register(EngineReport)
class EngineReportAdmin(admin.ModelAdmin):
    list_display = ["hostname", "version", "live_restore", "disk_free", "recorded_at"]
    readonly_fields = [field.name for field in EngineReport._meta.fields]
