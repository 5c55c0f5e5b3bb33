"""The search's capped count reads the page with it (issue 12, core.keyset.page's one pass):
when every match is counted (10,000 or fewer), the same statement writes down the page's ids,
so it needs each match's id and sort column (the call's moment, the estimated value) where it
found the match. The published processes' partial index on the id (0033) and the entity's
(entity, status, call moment) index hold both now: a winning supplier's or an entity's count
stays an index-only scan. At 1,000,000 processes (bench/scale.py's clone): 41 MB (the id alone
was 39 MB) and 67 MB (80 MB before, built fresh).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_form_submission_digest"),
        ("procurement", "0033_search_catalog_published_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="procurementprocess",
            name="process_entity_status",
        ),
        migrations.RemoveIndex(
            model_name="procurementprocess",
            name="process_published_id",
        ),
        migrations.AddIndex(
            model_name="procurementprocess",
            index=models.Index(
                fields=["entity", "status", "published_at", "id", "estimated_value"],
                name="process_entity_status",
            ),
        ),
        migrations.AddIndex(
            model_name="procurementprocess",
            index=models.Index(
                condition=models.Q(
                    models.Q(("status", "draft"), _negated=True), ("published_at__isnull", False)
                ),
                fields=["id", "published_at", "estimated_value"],
                name="process_published_cover",
            ),
        ),
    ]
