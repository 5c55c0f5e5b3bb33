"""On PostgreSQL, published process documents cannot be updated or deleted: a correction is
a new document that replaces the old one."""

from django.db import migrations

from core.db_guards import refuse_update_and_delete


class Migration(migrations.Migration):
    dependencies = [("procurement", "0004_processdocument")]

    operations = [
        refuse_update_and_delete("procurement_processdocument", "published documents are immutable")
    ]
