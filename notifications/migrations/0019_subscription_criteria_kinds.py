from django.db import migrations, models

# notifications.models.CRITERION_BITS as it stands at this migration.
BITS = {
    "catalog": 1,
    "region": 2,
    "entity": 4,
    "procedure_type": 8,
    "object_type": 16,
    "keyword": 32,
}


def backfill(apps, schema_editor):
    """Each subscription's kinds of criteria, from its criterion rows (one statement)."""
    Subscription = apps.get_model("notifications", "Subscription")
    Criterion = apps.get_model("notifications", "SubscriptionCriterion")
    quote = schema_editor.quote_name
    subscriptions, criteria = Subscription._meta.db_table, Criterion._meta.db_table
    cases = " ".join(f"WHEN '{kind}' THEN {bit}" for kind, bit in BITS.items())
    schema_editor.execute(
        f"UPDATE {quote(subscriptions)} SET criteria_kinds = COALESCE(("
        f"SELECT SUM(DISTINCT CASE c.field {cases} ELSE 0 END) FROM {quote(criteria)} c "
        f"WHERE c.subscription_id = {quote(subscriptions)}.id), 0)"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0018_event_kind_contract_voided"),
    ]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="criteria_kinds",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="kinds of criteria"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
