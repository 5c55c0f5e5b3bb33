"""On PostgreSQL, published process documents cannot be updated or deleted: a correction is
a new document that replaces the old one."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION procurement_document_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'published documents are immutable: % refused on procurement_processdocument', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER procurement_processdocument_immutable
    BEFORE UPDATE OR DELETE ON procurement_processdocument
    FOR EACH ROW EXECUTE FUNCTION procurement_document_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS procurement_processdocument_immutable ON procurement_processdocument;
DROP FUNCTION IF EXISTS procurement_document_refuse_change();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("procurement", "0004_processdocument")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
