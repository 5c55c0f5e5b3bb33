"""seed_demo dates nothing after the moment it runs: a demo seeded for today shows no history
yet to come, and the anchor that closes the seed covers every seeded entry."""

from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from core import clock
from core.models import AuditEntry
from procurement.models import (
    Appeal,
    Award,
    Contract,
    ContractAmendment,
    Evaluation,
    PlanVersion,
    ProcessDocument,
    ProcurementProcess,
    Qualification,
    StatusChange,
    SupplierEvaluation,
)
from suppliers.models import SizeClassification, Supplier

pytestmark = pytest.mark.django_db
LIMA = ZoneInfo("America/Lima")
# A working Tuesday morning, within the weeks when last year's sales are declared.
SEEDED_AT = datetime(2026, 3, 10, 9, 30, tzinfo=LIMA)

MOMENTS = [
    (StatusChange, "at"),
    (ProcessDocument, "published_at"),
    (AuditEntry, "created_at"),
    (PlanVersion, "published_at"),
    (ProcurementProcess, "created_at"),
    (ProcurementProcess, "published_at"),
    (ProcurementProcess, "answers_published_at"),
    (ProcurementProcess, "integrated_bases_published_at"),
    (Supplier, "registered_at"),
    (SizeClassification, "classified_at"),
    (User, "date_joined"),
    (Evaluation, "published_at"),
    (Qualification, "decided_at"),
    (Award, "decided_at"),
    (Award, "revoked_at"),
    (Appeal, "filed_at"),
    (Appeal, "admitted_at"),
    (Appeal, "resolved_at"),
    (Contract, "created_at"),
    (ContractAmendment, "created_at"),
    (SupplierEvaluation, "evaluated_at"),
]


def test_a_seed_for_today_dates_nothing_after_the_moment_it_runs():
    with clock.pinned(SEEDED_AT):
        call_command("seed_demo", "--processes", "300", "--seed", "3", stdout=StringIO())
    late = {
        f"{model.__name__}.{field}": model.objects.filter(**{f"{field}__gt": SEEDED_AT}).count()
        for model, field in MOMENTS
    }
    assert late == dict.fromkeys(late, 0)
    # The day's history is there, up to the moment of the seed.
    today = timezone.localdate(SEEDED_AT)
    assert StatusChange.objects.filter(at__date=today).exists()
    assert AuditEntry.objects.filter(created_at=SEEDED_AT).exists()
