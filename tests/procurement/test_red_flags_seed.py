"""seed_demo makes the situations that raise red flags through the data (related bidders
in the supplier registry, the seed's own single bidders, close bids, amendments...) and
stores the flags its rule functions compute, never flag rows of its own."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from core import clock
from procurement import red_flags
from procurement.models import ProcessRisk, ProcessRiskFlag, ProcurementProcess
from procurement.models import RiskFlagCode as Code
from suppliers.models import Supplier

pytestmark = pytest.mark.django_db
TODAY = "2026-11-25"


def test_the_seed_stores_what_the_rules_compute():
    with clock.pinned(date.fromisoformat(TODAY)):
        out = StringIO()
        call_command("seed_demo", "--processes", "400", "--seed", "2", "--today", TODAY, stdout=out)
    assert "Red flags computed" in out.getvalue()
    stored = set(ProcessRiskFlag.objects.values_list("process_id", "code"))
    computed = {
        (pk, code)
        for pk, codes in red_flags.evaluate(ProcurementProcess.objects.all()).items()
        for code in codes
    }
    assert stored == computed
    # Every flag of red_flags is raised by at least one process, as `make run` shows them.
    codes = {code for _pk, code in stored}
    assert codes == set(red_flags.RULES) == set(Code.values)
    assert ProcessRisk.objects.count() == len({pk for pk, _code in stored})
    # Every supplier has its legal representative in the registry, with an 8-digit DNI.
    assert not Supplier.objects.filter(representative_dni="").exists()
    assert not Supplier.objects.exclude(representative_dni__regex=r"^[0-9]{8}$").exists()
