"""The search's catalog filter from indexes alone (issue 12, bench/search.py at 100,000
processes): its capped count, `published AND EXISTS (an item LIKE '5110%')`, read every
process row (a sequential scan, 97,200 rows, then a hash join with the items: 165 ms of SQL at
load 7). Now the items' (catalog code, process) pattern index gives the process ids (index-only
scan) and the published processes' partial index on the id answers the published condition
(index-only scan, no heap fetch): 65-75 ms at load 6.5, the same rows. The pattern index on
the code alone is replaced (the new one leads with it).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_form_submission_digest"),
        ("procurement", "0032_amendment_source_ref"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="processitem",
            name="item_catalog_prefix",
        ),
        migrations.AddIndex(
            model_name="processitem",
            index=models.Index(
                fields=["catalog_item", "process"],
                name="item_catalog_process",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            ),
        ),
        migrations.AddIndex(
            model_name="procurementprocess",
            index=models.Index(
                condition=models.Q(
                    models.Q(("status", "draft"), _negated=True), ("published_at__isnull", False)
                ),
                fields=["id"],
                name="process_published_id",
            ),
        ),
    ]
