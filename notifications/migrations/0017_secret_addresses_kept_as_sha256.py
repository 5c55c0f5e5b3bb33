"""The feed and calendar addresses' secrets are kept as their SHA-256 (core.secret_addresses):
each stored secret is hashed in place, so every address made before keeps working. Going
back cannot recover the secrets: the addresses are deleted, and their owners make new ones."""

import hashlib

from django.db import migrations, models


def _hash_in_place(apps, schema_editor):
    for name in ("CalendarToken", "SubscriptionFeed"):
        model = apps.get_model("notifications", name)
        for row in model.objects.only("pk", "token").iterator():
            digest = hashlib.sha256(row.token.encode("ascii")).hexdigest()
            model.objects.filter(pk=row.pk).update(token=digest)


def _forget_addresses(apps, schema_editor):
    for name in ("CalendarToken", "SubscriptionFeed"):
        apps.get_model("notifications", name).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0016_subscription_feed"),
    ]

    operations = [
        migrations.RunPython(_hash_in_place, _forget_addresses),
        migrations.RenameField(model_name="calendartoken", old_name="token", new_name="token_sha256"),
        migrations.RenameField(
            model_name="subscriptionfeed", old_name="token", new_name="token_sha256"
        ),
        migrations.AlterField(
            model_name="calendartoken",
            name="token_sha256",
            field=models.CharField(max_length=64, unique=True, verbose_name="SHA-256 of the token"),
        ),
        migrations.AlterField(
            model_name="subscriptionfeed",
            name="token_sha256",
            field=models.CharField(max_length=64, unique=True, verbose_name="SHA-256 of the token"),
        ),
    ]
