"""The selection committee (comité de selección) of a process: staff of its entity,
designated before the call, named publicly."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .processes import ProcurementProcess


class CommitteeMember(models.Model):
    """One member of a process's committee. Whether the user is staff of the process's
    entity is checked by procurement.services.committee (membership lives in accounts)."""

    class Role(models.TextChoices):
        PRESIDENT = "president", _("President")
        MEMBER = "member", _("Member")

    process = models.ForeignKey(
        ProcurementProcess, models.CASCADE, related_name="committee_members"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    designated_at = models.DateTimeField(_("designated at"))
    designated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["process", "-role", "user__full_name", "id"]
        verbose_name = _("committee member")
        verbose_name_plural = _("committee members")
        constraints = [
            models.UniqueConstraint(fields=["process", "user"], name="committee_member_once"),
            models.UniqueConstraint(
                fields=["process"],
                condition=models.Q(role="president"),
                name="committee_one_president",
            ),
            models.CheckConstraint(
                name="committee_role_valid", condition=models.Q(role__in=["president", "member"])
            ),
        ]

    def __str__(self) -> str:
        return f"{self.process_id}: {self.user_id} ({self.role})"
