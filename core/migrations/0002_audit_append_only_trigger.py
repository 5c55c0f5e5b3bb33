"""On PostgreSQL, refuse UPDATE and DELETE on the audit trail at the database level, so not
even code that bypasses the ORM (or a wrong migration) can rewrite history."""

from django.db import migrations

from core.db_guards import refuse_update_and_delete


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [refuse_update_and_delete("core_auditentry", "the audit trail is append-only")]
