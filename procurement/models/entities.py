"""Procurement: the public entities that buy (plans, processes and contracts follow)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.codelists import GovernmentLevel
from core.models import District, Sector
from core.ruc import validate_ruc


class Entity(models.Model):
    """A public entity (buyer): a ministry, regional government, municipality..."""

    ruc = models.CharField(_("RUC"), max_length=11, unique=True, validators=[validate_ruc])
    name = models.CharField(_("name"), max_length=255)
    acronym = models.CharField(
        _("acronym"),
        max_length=30,
        unique=True,
        help_text=_("Used in process identifiers, e.g. LP-SM-3-2026-MINSA-1."),
    )
    sector = models.ForeignKey(
        Sector, models.PROTECT, verbose_name=_("sector"), related_name="entities"
    )
    level = models.CharField(_("government level"), max_length=10, choices=GovernmentLevel.choices)
    ubigeo = models.ForeignKey(District, models.PROTECT, verbose_name=_("UBIGEO"), related_name="+")
    address = models.CharField(_("address"), max_length=255, blank=True)
    website = models.URLField(_("website"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("entity")
        verbose_name_plural = _("entities")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ruc__regex=r"^20[0-9]{9}$"), name="entity_ruc_format"
            ),
            models.CheckConstraint(
                condition=models.Q(acronym__regex=r"^[A-Z0-9]+(-[A-Z0-9]+)*$"),
                name="entity_acronym_format",
            ),
        ]

    def __str__(self) -> str:
        return self.name
