"""The OCDS releases loaded from other portals (manage.py import_ocds): one row per release,
by its ocid and id, so that loading the same file again changes nothing."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .processes import ProcurementProcess


class ImportedRelease(models.Model):
    source = models.CharField(_("source"), max_length=40)
    ocid = models.CharField(_("ocid"), max_length=200)
    release_id = models.CharField(_("release id"), max_length=300)
    process = models.ForeignKey(
        ProcurementProcess, models.PROTECT, related_name="imported_releases"
    )
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)

    class Meta:
        ordering = ["ocid", "imported_at", "id"]
        verbose_name = _("imported OCDS release")
        verbose_name_plural = _("imported OCDS releases")
        constraints = [
            models.UniqueConstraint(fields=["ocid", "release_id"], name="imported_release_once")
        ]

    def __str__(self) -> str:
        return f"{self.ocid} {self.release_id}"
