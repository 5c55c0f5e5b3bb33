"""ProcurementProcess.status_changed_at (the moment of its last status change, read by the
stuck list, procurement.stuck), filled from the history in one statement (the same as
procurement.models.processes.refresh_status_changed_at, written out here so the migration
does not change with the code)."""

from django.db import migrations, models

BACKFILL = (
    "UPDATE procurement_procurementprocess SET status_changed_at = last.at FROM ("
    "SELECT process_id, max(at) AS at FROM procurement_statuschange GROUP BY process_id"
    ") AS last WHERE procurement_procurementprocess.id = last.process_id"
)


class Migration(migrations.Migration):
    dependencies = [
        ("procurement", "0026_units_codelist"),
    ]

    operations = [
        migrations.AddField(
            model_name="procurementprocess",
            name="status_changed_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="status last changed"
            ),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
