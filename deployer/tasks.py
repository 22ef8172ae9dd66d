"""Platform-wide periodic work that spans the apps."""

from __future__ import annotations

from celery import shared_task

from deployer import housekeeping as rounds


@shared_task(name="deployer.tasks.housekeeping")
def housekeeping() -> dict:
    report = rounds.run_with_engine()
    if report is None:
        return {"engine": "unreachable"}
    return {
        "removed_images": len(report.removed_images),
        "removed_containers": len(report.removed_containers),
        "dangling_bytes": report.dangling_bytes,
        "deleted_rows": report.deleted_rows,
    }
