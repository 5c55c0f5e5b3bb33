from django.db import migrations, models


def mark_unconfirmed_registrations(apps, schema_editor):
    """Self-registrations made before this field existed and never confirmed: a supplier
    with portal users none of whom confirmed the e-mail, and no registry validity yet."""
    Supplier = apps.get_model("suppliers", "Supplier")
    User = apps.get_model("accounts", "User")
    unconfirmed = Supplier.objects.filter(
        registry_valid_until__isnull=True, memberships__isnull=False
    ).exclude(memberships__user__email_verified_at__isnull=False)
    Supplier.objects.filter(pk__in=unconfirmed.values("pk")).update(awaiting_confirmation=True)
    User.objects.filter(
        email_verified_at__isnull=True,
        last_login__isnull=True,
        is_active=False,
        is_staff=False,
        is_superuser=False,
        memberships__role="supplier_user",
        memberships__supplier__awaiting_confirmation=True,
    ).update(self_registered=True)


class Migration(migrations.Migration):
    dependencies = [
        ("suppliers", "0002_alter_sizeclassification_sales_uit"),
        ("accounts", "0003_self_registered_and_throttle_counter"),
    ]

    operations = [
        migrations.AddField(
            model_name="supplier",
            name="awaiting_confirmation",
            field=models.BooleanField(
                db_index=True, default=False, verbose_name="awaiting e-mail confirmation"
            ),
        ),
        migrations.RunPython(mark_unconfirmed_registrations, migrations.RunPython.noop),
    ]
