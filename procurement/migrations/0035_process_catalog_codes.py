"""The search's catalog prefix filter reads the process's own row (issue 12, bench/search.py at
1,000,000 processes): `catalog=51100000` joined the items (EXISTS over the (code, process)
pattern index) for its capped count and again for each row the page's date walk met. Now
each process stores its items' codes (procurement.search.catalog_codes, written with the
search columns by search.refresh), indexed on PostgreSQL as a tsvector of its codes (GIN),
which a prefix query ('5110:*') reads. The backfill is one UPDATE ... FROM of the items
grouped by process, then the index and fresh statistics for the planner (the index's
expression has none before an ANALYZE). On bench/scale.py's 1,000,000-process clone the
migration took 13 min 14 s on the shared 2-core machine at load average ~18 (every row is
rewritten, and with it every index of the table); run VACUUM ANALYZE on the table after it.
"""

from django.db import migrations, models

PG_BACKFILL = """
UPDATE procurement_procurementprocess AS p SET catalog_codes = c.codes
FROM (
    SELECT i.process_id,
           ' ' || string_agg(DISTINCT i.catalog_item_id, ' ' ORDER BY i.catalog_item_id) || ' '
           AS codes
    FROM procurement_processitem AS i GROUP BY i.process_id
) AS c
WHERE c.process_id = p.id
"""
PG_INDEX = """
CREATE INDEX process_catalog_codes_gin ON procurement_procurementprocess
    USING gin (to_tsvector('simple'::regconfig, catalog_codes))
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_BACKFILL, params=None)
        schema_editor.execute(PG_INDEX, params=None)
        schema_editor.execute("ANALYZE procurement_procurementprocess", params=None)
        return
    Process = apps.get_model("procurement", "ProcurementProcess")
    Item = apps.get_model("procurement", "ProcessItem")
    codes: dict[int, set[str]] = {}
    for process_id, code in Item.objects.values_list("process_id", "catalog_item_id"):
        codes.setdefault(process_id, set()).add(code)
    for process_id, found in codes.items():
        Process.objects.filter(pk=process_id).update(catalog_codes=f" {' '.join(sorted(found))} ")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS process_catalog_codes_gin", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("procurement", "0034_search_one_pass_covering_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="procurementprocess",
            name="catalog_codes",
            field=models.TextField(blank=True, db_default="", default="", editable=False),
        ),
        migrations.RunPython(forwards, backwards),
    ]
