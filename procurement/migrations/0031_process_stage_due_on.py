"""ProcurementProcess.stage_due_on: the last day a running process is on time, read by the
stuck list (procurement.stuck) through a partial index, filled for the rows there are in one
statement (the same rule as procurement.stuck.due_on, written out here so the migration does
not change with the code), before the index is built."""

from django.db import migrations, models
from django.db.models import (
    Case,
    DateField,
    DateTimeField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, TruncDate

# The stage by whose end each running status owes its next status change.
DUE_STAGE = {"convocado": "buena_pro", "adjudicado": "consentimiento", "consentido": "contrato"}


def fill(apps, schema_editor):
    Process = apps.get_model("procurement", "ProcurementProcess")
    Stage = apps.get_model("procurement", "ProcessStage")
    last_change = TruncDate(
        ExpressionWrapper(OuterRef("status_changed_at"), output_field=DateTimeField())
    )
    owed = [
        When(
            status=status,
            then=Subquery(
                Stage.objects.filter(process=OuterRef("pk"), stage=stage)
                .annotate(due=Greatest(F("end"), Coalesce(last_change, F("end"))))
                .values("due")[:1]
            ),
        )
        for status, stage in DUE_STAGE.items()
    ]
    Process.objects.filter(Q(status__in=list(DUE_STAGE))).update(
        stage_due_on=Case(*owed, default=Value(None), output_field=DateField())
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_form_submission_digest"),
        ("procurement", "0030_process_entity_status_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="procurementprocess",
            name="stage_due_on",
            field=models.DateField(
                blank=True, editable=False, null=True, verbose_name="on time until"
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="procurementprocess",
            index=models.Index(
                condition=models.Q(("stage_due_on__isnull", False)),
                fields=["stage_due_on", "id"],
                name="process_stage_due",
            ),
        ),
    ]
