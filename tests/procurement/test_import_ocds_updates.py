"""`manage.py import_ocds` reads the shapes the portal's own export (and SEACE's) has besides
the first release of each thing: an award update that states only the new status (consent,
revocation), a deserted lot with no winner, a contract amendment or evaluation that states no
status, a planning release dated before the call, and releases out of order in the file."""

import copy
import json
from io import StringIO

import pytest
from django.core.management import call_command

from procurement.models import (
    Award,
    Contract,
    ContractAmendment,
    ImportedRelease,
    ProcessStatus,
    ProcurementProcess,
)
from procurement.ocds.importer import IMPORT_USER_EMAIL
from tests.procurement.test_import_ocds import (
    BUYER,
    ITEM,
    OCID,
    SUPPLIER_RUC,
    _release,
    oece_package,
    run,
)

pytestmark = pytest.mark.django_db


def _award_update(suffix: str, date: str, tags: list[str], status: str) -> dict:
    """An award update as the portal exports it: the award's id and new status, nothing else."""
    return _release(
        suffix,
        date,
        tags,
        awards=[{"id": "1002345-1", "status": status, "date": date, "items": [{"id": "1"}]}],
    )


def _granted_package() -> dict:
    """The OECE package with its award granted (pending), not yet consented, and no contract."""
    package = oece_package()
    package["releases"][1]["awards"][0]["status"] = "pending"
    package["releases"][1]["tender"]["status"] = "complete"
    del package["releases"][2]
    return package


def test_a_consent_that_states_only_the_status_keeps_the_winner_and_amount(tmp_path):
    package = _granted_package()
    package["releases"].append(
        _award_update("consent", "2024-03-27T00:00:00-05:00", ["awardUpdate"], "active")
    )
    out, err = run(tmp_path, package)
    assert err == "" and "3 releases loaded, 0 already imported, 0 refused." in out
    award = Award.objects.get()
    assert award.status == Award.Status.CONSENTED
    assert award.supplier.ruc == SUPPLIER_RUC and str(award.amount) == "2400.00"
    assert str(award.consented_on) == "2024-03-27"
    assert award.process.status == ProcessStatus.CONSENTED


def test_a_revocation_keeps_the_winner_and_frees_the_process_for_a_new_award(tmp_path):
    package = _granted_package()
    package["releases"].append(
        _award_update("revocation", "2024-03-25T10:00:00-05:00", ["awardCancellation"], "cancelled")
    )
    second = copy.deepcopy(package["releases"][1])
    second["id"] = f"{OCID}-award-2"
    second["date"] = "2024-03-26T10:00:00-05:00"
    second["awards"][0].update(id="1002345-2", date=second["date"])
    package["releases"].append(second)
    out, err = run(tmp_path, package)
    assert err == "" and "4 releases loaded" in out
    revoked, granted = Award.objects.order_by("source_ref")
    assert revoked.status == Award.Status.REVOKED and revoked.supplier.ruc == SUPPLIER_RUC
    assert revoked.revoked_at is not None and str(revoked.amount) == "2400.00"
    assert granted.status == Award.Status.AWARDED and granted.source_ref == "1002345-2"


def test_an_update_of_an_award_that_is_not_here_is_refused_saying_so(tmp_path):
    package = _granted_package()
    package["releases"][1]["awards"][0]["id"] = "otro"
    package["releases"].append(
        _award_update("consent", "2024-03-27T00:00:00-05:00", ["awardUpdate"], "active")
    )
    _out, err = run(tmp_path, package)
    assert f"release {OCID}-consent: not loaded: award 1002345-1 (active): no supplier" in err
    assert "1 releases refused" in err


def test_a_deserted_lot_has_no_winner_and_the_other_lot_is_awarded(tmp_path):
    """A process by items (lots): one lot deserted (`unsuccessful`, no supplier, no value,
    its reason in the description), the other awarded; the process is awarded, the lot
    deserted without a supplier."""
    package = _granted_package()
    tender = package["releases"][0]["tender"]
    second_item = copy.deepcopy(ITEM) | {"id": "2", "description": "PAPEL BOND A3"}
    tender["items"].append(second_item)
    tender["value"]["amount"] = 5100
    package["releases"][1]["awards"].append(
        {
            "id": "1002345-2",
            "status": "unsuccessful",
            "description": "Ninguna oferta válida",
            "date": "2024-03-20T10:00:00-05:00",
            "items": [{"id": "2"}],
        }
    )
    out, err = run(tmp_path, package)
    assert err == "" and "2 releases loaded" in out
    granted, deserted = Award.objects.order_by("source_ref")
    assert granted.item.source_ref == "1" and granted.supplier.ruc == SUPPLIER_RUC
    assert deserted.item.source_ref == "2" and deserted.status == Award.Status.DESERTED
    assert deserted.supplier is None and deserted.amount is None
    assert deserted.reason == "Ninguna oferta válida"
    assert ProcurementProcess.objects.get().status == ProcessStatus.AWARDED


def test_a_deserted_process_has_a_deserted_award_without_a_supplier(tmp_path):
    package = _granted_package()
    award = package["releases"][1]
    award["parties"] = [BUYER]
    award["tender"]["status"] = "unsuccessful"
    award["awards"] = [
        {
            "id": "1002345-1",
            "status": "unsuccessful",
            "date": award["date"],
            "description": "Sin postores",
        }
    ]
    out, err = run(tmp_path, package)
    assert err == "" and "2 releases loaded" in out
    deserted = Award.objects.get()
    assert (deserted.status, deserted.supplier, deserted.amount) == (
        Award.Status.DESERTED,
        None,
        None,
    )
    assert ProcurementProcess.objects.get().status == ProcessStatus.DESERTED


def _contract_update(suffix: str, date: str, tags: list[str], **contract) -> dict:
    return _release(
        suffix, date, tags, contracts=[{"id": "2001", "awardID": "1002345-1", **contract}]
    )


def test_a_contract_amendment_and_evaluation_without_status_keep_the_contract_s(tmp_path):
    package = oece_package()
    amendment = {"id": "7", "date": "2024-04-02T00:00:00-05:00", "rationale": "Mayor cantidad"}
    package["releases"] += [
        _contract_update(
            "contract-amendment",
            "2024-04-02T10:00:00-05:00",
            ["contractAmendment"],
            value={"amount": 2600, "currency": "PEN"},
            amendments=[amendment],
        ),
        _contract_update(
            "contract-end",
            "2024-04-27T10:00:00-05:00",
            ["implementation"],
            status="terminated",
            period={"endDate": "2024-04-27T23:59:59-05:00"},
            finalValue={"amount": 2600, "currency": "PEN"},
        ),
        _contract_update(
            "contract-evaluation",
            "2024-05-02T10:00:00-05:00",
            ["implementationUpdate"],
            implementation={"supplierEvaluation": {"onTime": True, "quality": 4}},
        ),
    ]
    out, err = run(tmp_path, package)
    assert err == "" and "6 releases loaded, 0 already imported, 0 refused." in out
    contract = Contract.objects.get()
    # The amendment is the difference the value after it states, as the portal computes it.
    amendment = contract.amendments.get()
    assert (amendment.kind, str(amendment.amount), str(amendment.percentage)) == (
        "adicional",
        "200.00",
        "8.33",
    )
    assert amendment.reason == "Mayor cantidad" and str(amendment.signed_on) == "2024-04-02"
    assert not amendment.above_limit and amendment.created_by.email == IMPORT_USER_EMAIL
    assert not amendment.created_by.is_active and not amendment.created_by.has_usable_password()
    # The evaluation came after the end: the contract stays ended, on the day it ended.
    evaluation = contract.evaluation
    assert (evaluation.on_time, evaluation.quality, evaluation.penalties) == (True, 4, 0)
    assert contract.status == Contract.Status.COMPLETED and str(contract.ended_on) == "2024-04-27"
    assert str(contract.amount) == "2400.00" and str(contract.final_amount) == "2600.00"
    assert ProcurementProcess.objects.get().status == ProcessStatus.CONTRACTED


def test_amendments_whose_value_cannot_be_told_apart_are_said_and_not_stored(tmp_path):
    """Two new in one release, or in the release that brings the contract (a record's
    compiled release): the value after each is not stated."""
    package = oece_package()
    package["releases"][-1]["contracts"][0]["amendments"] = [
        {"id": "6", "rationale": "Primera", "date": "2024-03-20T00:00:00-05:00"}
    ]
    package["releases"].append(
        _contract_update(
            "contract-amendment",
            "2024-04-02T10:00:00-05:00",
            ["contractAmendment"],
            value={"amount": 2700, "currency": "PEN"},
            amendments=[{"id": "7", "rationale": "Mayor"}, {"id": "8", "rationale": "Otra"}],
        )
    )
    out, err = run(tmp_path, package)
    assert err == "" and "0 refused" in out
    assert "contract 2001: amendment 6 not stored: the value after each cannot be told" in out
    assert "contract 2001: amendment 7, 8 not stored" in out
    assert not Contract.objects.get().amendments.exists()


def _ended(status_details="resuelto", **extra) -> dict:
    return _contract_update(
        "contract-end",
        "2024-04-27T10:00:00-05:00",
        ["contractTermination"],
        status="terminated",
        statusDetails=status_details,
        period={"endDate": "2024-04-27T23:59:59-05:00"},
        **extra,
    )


def _evaluation(date="2024-05-02T10:00:00-05:00", suffix="contract-evaluation", **stated):
    stated = {"onTime": False, "quality": 2, **stated}
    return _contract_update(
        suffix, date, ["implementationUpdate"], implementation={"supplierEvaluation": stated}
    )


def test_a_termination_keeps_the_party_that_terminated_and_its_reason(tmp_path):
    package = oece_package()
    package["releases"] += [
        _ended(terminatedBy="contratista", description="Incumplimiento de plazos"),
        _evaluation(penalties={"amount": 120, "currency": "PEN"}, comment="Tarde"),
    ]
    out, err = run(tmp_path, package)
    assert err == "" and "5 releases loaded" in out and "terminated early" not in out
    contract = Contract.objects.get()
    assert (contract.status, contract.terminated_by, contract.end_reason) == (
        Contract.Status.TERMINATED,
        Contract.Party.SUPPLIER,
        "Incumplimiento de plazos",
    )
    assert str(contract.ended_on) == "2024-04-27" and contract.final_amount is None
    assert (contract.evaluation.penalties, contract.evaluation.comment) == (120, "Tarde")


def test_a_termination_without_its_party_is_recorded_as_ended_and_said(tmp_path):
    out, err = run(
        tmp_path, {**oece_package(), "releases": [*oece_package()["releases"], _ended()]}
    )
    assert err == "" and "terminated early, recorded as ended (culminado)" in out
    assert Contract.objects.get().status == Contract.Status.COMPLETED


@pytest.mark.parametrize(
    "releases, reason",
    [
        ([_ended(terminatedBy="entidad")], "termination: Indique el motivo."),
        ([_ended(terminatedBy="nadie", description="x")], "fails the OCDS schema"),
        (
            [
                _ended(terminatedBy="entidad", description="Caso fortuito"),
                _contract_update(
                    "contract-amendment",
                    "2024-05-02T10:00:00-05:00",
                    ["contractAmendment"],
                    value={"amount": 2600, "currency": "PEN"},
                    amendments=[{"id": "7", "rationale": "Mayor cantidad"}],
                ),
            ],
            "amendment 7: El contrato está resuelto: esto no es posible ahora.",
        ),
        (
            [
                _contract_update(
                    "contract-amendment",
                    "2024-04-02T10:00:00-05:00",
                    ["contractAmendment"],
                    amendments=[{"id": "7", "rationale": "Mayor cantidad"}],
                )
            ],
            "amendment 7: the release states no value after it",
        ),
        (
            [_evaluation()],
            "supplier evaluation: El proveedor se evalúa cuando el contrato ha culminado",
        ),
        (
            [
                _ended(terminatedBy="entidad", description="Caso fortuito"),
                _evaluation(),
                _evaluation("2024-05-03T10:00:00-05:00", "contract-evaluation-2"),
            ],
            "supplier evaluation: Este contrato ya fue evaluado.",
        ),
        (
            [_ended(terminatedBy="entidad", description="Caso fortuito"), _evaluation(quality=9)],
            "fails the OCDS schema",
        ),
        (
            [
                _ended(terminatedBy="entidad", description="Caso fortuito"),
                _contract_update(
                    "contract-evaluation",
                    "2024-05-02T10:00:00-05:00",
                    ["implementationUpdate"],
                    implementation={
                        "supplierEvaluation": {
                            "onTime": False,
                            "quality": 2,
                            "date": "2024-04-20T10:00:00-05:00",
                        }
                    },
                ),
            ],
            "before the contract ended",
        ),
        (
            [_ended(terminatedBy="entidad", description="Caso fortuito"), _evaluation(onTime=None)],
            "supplier evaluation: Indique si se entregó a tiempo.",
        ),
    ],
)
# The contract services' own messages (procurement.services.contracts), in Spanish.
def test_what_the_portal_refuses_of_a_contract_is_refused_saying_why(tmp_path, releases, reason):
    package = oece_package()
    package["releases"] += releases
    out, err = run(tmp_path, package)
    assert "1 releases refused" in err and reason in err, err
    # The refused release left nothing: no amendment, no second evaluation.
    contract = Contract.objects.get()
    assert contract.amendments.count() == 0
    assert contract.status in (Contract.Status.ACTIVE, Contract.Status.TERMINATED)


@pytest.mark.parametrize(
    "end_date, message",
    [
        # After today: the termination page refuses it, and so does the import.
        ("2099-01-15T23:59:59-05:00", "termination: Indique una fecha desde el 2024-03-"),
        ("2024-01-02T23:59:59-05:00", "termination: Indique una fecha desde el 2024-03-"),
    ],
)
def test_a_termination_is_refused_as_the_termination_page_refuses_it(tmp_path, end_date, message):
    """The import checks a termination by the service's own rule (clean_termination):
    its date from the signing to today."""
    ended = _ended(terminatedBy="entidad", description="Caso fortuito")
    ended["contracts"][0]["period"] = {"endDate": end_date}
    package = oece_package()
    package["releases"].append(ended)
    _out, err = run(tmp_path, package)
    assert "1 releases refused" in err and message in err, err
    assert Contract.objects.get().status == Contract.Status.ACTIVE


def test_an_amendment_alone_keeps_an_active_contract_active(tmp_path):
    package = oece_package()
    package["releases"].append(
        _contract_update(
            "contract-amendment",
            "2024-04-02T10:00:00-05:00",
            ["contractAmendment"],
            value={"amount": 2600, "currency": "PEN"},
            amendments=[{"id": "7", "rationale": "Mayor cantidad"}],
        )
    )
    out, err = run(tmp_path, package)
    assert err == "" and "4 releases loaded" in out
    assert Contract.objects.get().status == Contract.Status.ACTIVE


def test_an_update_of_a_contract_that_is_not_here_is_refused_saying_so(tmp_path):
    package = oece_package()
    package["releases"][2] = _contract_update(
        "contract-amendment",
        "2024-04-02T10:00:00-05:00",
        ["contractAmendment"],
        amendments=[{"id": "7", "rationale": "Mayor cantidad"}],
    )
    _out, err = run(tmp_path, package)
    assert (
        f"release {OCID}-contract-amendment: not loaded: contract 2001: not loaded before and "
        "the release states no status"
    ) in err
    assert not Contract.objects.exists()


def _planning() -> dict:
    """A planning release as the portal exports it: the plan's budget and the items the call
    will carry (same ids), no tender title, dated months before the call."""
    return _release(
        "planning",
        "2024-01-10T09:00:00-05:00",
        ["planning"],
        parties=[BUYER],
        planning={"budget": {"amount": {"amount": 2550, "currency": "PEN"}}},
        tender={"id": "1002345", "items": [ITEM]},
    )


def test_a_planning_release_before_the_call_is_recorded_with_its_process(tmp_path):
    package = oece_package()
    package["releases"].insert(0, _planning())
    out, err = run(tmp_path, package)
    assert err == "" and "4 releases loaded, 0 already imported, 0 refused." in out
    process = ProcurementProcess.objects.get(ocid=OCID)
    assert process.items.count() == 1 and process.status == ProcessStatus.CONTRACTED
    assert ImportedRelease.objects.filter(release_id=f"{OCID}-planning", process=process).exists()
    out, err = run(tmp_path, package)
    assert "0 releases loaded, 4 already imported, 0 refused." in out


def test_a_planning_release_whose_call_is_not_here_is_refused_saying_so(tmp_path):
    package = oece_package()
    package["releases"] = [_planning()]
    _out, err = run(tmp_path, package)
    assert f"release {OCID}-planning: not loaded: planning release of ocid {OCID}" in err
    assert "a plan does not create a process" in err
    assert not ProcurementProcess.objects.exists()
    # Later, with its call: the process is created and the plan recorded with it.
    package["releases"] += oece_package()["releases"]
    out, err = run(tmp_path, package)
    assert err == "" and "4 releases loaded" in out


def test_the_order_of_the_releases_in_the_files_does_not_matter(tmp_path):
    """The contract, then the award, then the tender, then the plan, each in its own file:
    loaded as they happened."""
    releases = [_planning(), *oece_package()["releases"]]
    names = []
    for number, release in enumerate(reversed(releases)):
        name = tmp_path / f"part{number}.json"
        name.write_text(json.dumps({"releases": [release]}))
        names.append(str(name))
    out = StringIO()
    call_command("import_ocds", *names, stdout=out, stderr=StringIO())
    assert "4 releases loaded, 0 already imported, 0 refused." in out.getvalue()
    assert ProcurementProcess.objects.get().status == ProcessStatus.CONTRACTED
    assert Contract.objects.get().supplier.ruc == SUPPLIER_RUC


def test_a_suspension_the_source_names_in_status_details_is_kept(tmp_path):
    """OCDS has no tender status for a suspended process (it stays `active`): the portal's
    export says `suspendido` in statusDetails, and the import keeps it, until a later status."""
    package = oece_package()
    del package["releases"][1:]
    package["releases"].append(
        _release(
            "status-1",
            "2024-03-10T10:00:00-05:00",
            ["tenderUpdate"],
            tender={"id": "1002345", "status": "active", "statusDetails": "suspendido"},
        )
    )
    run(tmp_path, package)
    assert ProcurementProcess.objects.get().status == ProcessStatus.SUSPENDED
    # A statusDetails that is not ours, or disagrees with tender.status, is not read.
    package["releases"].append(
        _release(
            "status-2",
            "2024-03-11T10:00:00-05:00",
            ["tenderUpdate"],
            tender={"id": "1002345", "status": "active", "statusDetails": "desierto"},
        )
    )
    run(tmp_path, package)
    assert ProcurementProcess.objects.get().status == ProcessStatus.CALLED


def test_a_contract_declared_void_leaves_its_process_without_a_contract(tmp_path):
    package = oece_package()
    package["releases"].append(
        _contract_update(
            "contract-void", "2024-04-02T10:00:00-05:00", ["contractUpdate"], status="cancelled"
        )
    )
    out, err = run(tmp_path, package)
    assert err == "" and "4 releases loaded, 0 already imported, 0 refused." in out
    assert Contract.objects.get().status == Contract.Status.VOID
    assert ProcurementProcess.objects.get().status == ProcessStatus.CONSENTED


def _second_contract(date: str) -> dict:
    return _release(
        "contract-again",
        date,
        ["contract"],
        contracts=[
            {
                "id": "2002",
                "awardID": "1002345-1",
                "title": "CONTRATO N° 016-2024-ESSALUD",
                "status": "active",
                "value": {"amount": 2400, "currency": "PEN"},
                "dateSigned": date,
                "period": {"durationInDays": 30},
            }
        ],
    )


def test_an_award_has_one_standing_contract_and_another_after_a_void_one(tmp_path):
    """A second contract of an award whose contract stands is refused, saying so; once that
    one is cancelled, the award's new contract is loaded and the process is contracted."""
    package = oece_package()
    package["releases"].append(_second_contract("2024-04-01T10:00:00-05:00"))
    out, err = run(tmp_path, package)
    assert "1 refused" in out and "one contract at a time" in err
    assert Contract.objects.get().source_ref == "2001"
    package["releases"] += [
        _contract_update(
            "contract-void", "2024-04-02T10:00:00-05:00", ["contractUpdate"], status="cancelled"
        ),
        _second_contract("2024-04-03T10:00:00-05:00"),
    ]
    package["releases"][-1]["id"] += "-b"  # another release than the refused one
    out, err = run(tmp_path, package, name="again.json")
    assert sorted(Contract.objects.values_list("source_ref", "status")) == [
        ("2001", Contract.Status.VOID),
        ("2002", Contract.Status.ACTIVE),
    ]
    assert ProcurementProcess.objects.get().status == ProcessStatus.CONTRACTED


def test_one_release_may_list_the_new_contract_before_the_old_ones_cancellation(tmp_path):
    """The order of a release's contracts does not matter: the cancellation is loaded first,
    then the award's new contract."""
    package = oece_package()
    both = _second_contract("2024-04-03T10:00:00-05:00")
    both["contracts"].append({"id": "2001", "awardID": "1002345-1", "status": "cancelled"})
    package["releases"].append(both)
    out, err = run(tmp_path, package)
    assert err == "" and "0 refused" in out, err
    assert sorted(Contract.objects.values_list("source_ref", "status")) == [
        ("2001", Contract.Status.VOID),
        ("2002", Contract.Status.ACTIVE),
    ]
    assert ProcurementProcess.objects.get().status == ProcessStatus.CONTRACTED


def test_a_signed_awards_winner_amount_and_outcome_cannot_be_rewritten(tmp_path):
    """An award whose contract is here: a later release may not give it another amount,
    make it deserted or revoke it under the contract (the winner of the contract and of its
    award would disagree)."""
    package = oece_package()
    rewrites = [
        {"id": "1002345-1", "status": "active", "value": {"amount": 9999, "currency": "PEN"}},
        {"id": "1002345-1", "status": "unsuccessful"},
        {"id": "1002345-1", "status": "cancelled"},
    ]
    for n, award in enumerate(rewrites):
        package["releases"].append(
            _release(
                f"rewrite-{n}", f"2024-04-0{n + 2}T10:00:00-05:00", ["awardUpdate"], awards=[award]
            )
        )
    out, err = run(tmp_path, package)
    assert "3 releases loaded, 0 already imported, 3 refused." in out
    assert err.count("its contract is signed here") == 3
    award = Award.objects.get()
    assert award.status == Award.Status.CONSENTED and str(award.amount) == "2400.00"
    assert award.supplier.ruc == SUPPLIER_RUC
    assert ProcurementProcess.objects.get().status == ProcessStatus.CONTRACTED


def test_status_details_never_state_a_status_the_records_decide(tmp_path):
    """`contratado` in statusDetails with no contract here is not believed: the process is
    what its awards make it."""
    package = _granted_package()
    package["releases"].append(
        _release(
            "status-contracted",
            "2024-03-28T10:00:00-05:00",
            ["tenderUpdate"],
            tender={"id": "1002345", "status": "complete", "statusDetails": "contratado"},
        )
    )
    run(tmp_path, package)
    assert ProcurementProcess.objects.get().status == ProcessStatus.AWARDED


def test_a_number_the_database_cannot_hold_refuses_the_release_and_the_import_goes_on(tmp_path):
    package = _granted_package()
    package["releases"][1]["awards"][0]["value"]["amount"] = 10**25
    out, err = run(tmp_path, package)
    assert "1 releases loaded, 0 already imported, 1 refused." in out
    assert "a value out of range here" in err
    assert ProcurementProcess.objects.get().status == ProcessStatus.CALLED
    assert not Award.objects.exists()


def _amended(suffix, date, amount, amendment_id, rationale="Mayor cantidad"):
    return _contract_update(
        suffix,
        date,
        ["contractAmendment"],
        value={"amount": amount, "currency": "PEN"},
        amendments=[{"id": amendment_id, "date": date, "rationale": rationale}],
    )


def test_two_amendments_of_one_day_and_reason_are_two_by_their_ids(tmp_path):
    """Amendments are told apart by their id at the source: a second one with the same date
    and reason is another amendment, and the same release read again changes nothing."""
    package = oece_package()
    package["releases"] += [
        _amended("amendment-7", "2024-04-02T10:00:00-05:00", 2600, "7"),
        _amended("amendment-8", "2024-04-02T10:00:00-05:00", 2800, "8"),
    ]
    out, err = run(tmp_path, package)
    assert err == "" and "0 refused" in out, err
    contract = Contract.objects.get()
    assert [(a.source_ref, str(a.amount)) for a in contract.amendments.order_by("id")] == [
        ("7", "200.00"),
        ("8", "200.00"),
    ]
    run(tmp_path, package, name="again.json")
    assert contract.amendments.count() == 2


def test_an_imported_amendment_is_checked_as_the_portals_own(tmp_path):
    """The portal's own rules (contracts.new_amendment): no date after today, none before the
    signing; the release is refused saying why."""
    package = oece_package()
    package["releases"] += [
        _amended("amendment-future", "2099-01-01T10:00:00-05:00", 2700, "9"),
        _amended("amendment-early", "2024-01-02T10:00:00-05:00", 2700, "10"),
    ]
    out, err = run(tmp_path, package)
    assert "2 refused" in out and err.count("amendment") >= 2, err
    assert not Contract.objects.get().amendments.exists()


def test_the_import_never_signs_with_an_account_someone_registered_first(tmp_path):
    """The import's own account is inactive, without a password, never self-registered: if a
    person registered its address first, the rows that need it are refused, not signed."""
    from django.contrib.auth import get_user_model

    from procurement.ocds.importer import IMPORT_USER_EMAIL

    squatter = get_user_model().objects.create_user(
        email=IMPORT_USER_EMAIL, password="una-clave-larga-2026", full_name="Intruso"
    )
    package = oece_package()
    package["releases"].append(_amended("amendment-7", "2024-04-02T10:00:00-05:00", 2600, "7"))
    out, err = run(tmp_path, package)
    assert "1 refused" in out and "a person's account" in err, err
    assert not Contract.objects.get().amendments.exists()
    assert not ContractAmendment.objects.filter(created_by=squatter).exists()


def test_an_imported_contract_moves_only_as_the_portal_s_own_contracts_do(tmp_path):
    """Ended contracts stay ended: a later release stating "active" (or another end) for a
    terminated contract is refused, and its termination is kept."""
    package = oece_package()
    package["releases"] += [
        _ended(terminatedBy="entidad", description="Caso fortuito"),
        _contract_update(
            "reopened", "2024-05-10T10:00:00-05:00", ["contractUpdate"], status="active"
        ),
        _contract_update(
            "void-later", "2024-05-11T10:00:00-05:00", ["contractUpdate"], status="cancelled"
        ),
    ]
    out, err = run(tmp_path, package)
    assert "2 refused" in out and err.count("cannot become") == 2, err
    contract = Contract.objects.get()
    assert contract.status == Contract.Status.TERMINATED
    assert contract.terminated_by == "entidad" and contract.ended_on is not None


def _amendment_release(n: int, value: int, date: str, released: str = "") -> dict:
    return _contract_update(
        f"contract-amendment-{n}",
        f"{released or date}T10:00:00-05:00",
        ["contractAmendment"],
        value={"amount": value, "currency": "PEN"},
        amendments=[
            {"id": str(n), "rationale": f"Mayor cantidad {n}", "date": f"{date}T00:00:00-05:00"}
        ],
    )


def test_the_import_s_account_is_looked_up_once_a_run(tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    package = oece_package()
    package["releases"] += [
        _amendment_release(7, 2500, "2024-04-02"),
        _amendment_release(8, 2600, "2024-04-03"),
        _ended(terminatedBy="entidad", description="Caso fortuito"),
        _evaluation(),
    ]
    with CaptureQueriesContext(connection) as queries:
        out, err = run(tmp_path, package)
    assert err == "" and "7 releases loaded" in out
    lookups = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and IMPORT_USER_EMAIL in q["sql"]
    ]
    assert len(lookups) == 1, lookups
    contract = Contract.objects.get()
    signers = {a.created_by.email for a in contract.amendments.all()}
    assert signers == {contract.evaluation.evaluated_by.email} == {IMPORT_USER_EMAIL}


def test_a_refused_release_that_made_the_import_s_account_does_not_break_the_next(tmp_path):
    """The first release to need the account creates it in its transaction; refused, that
    is rolled back, and the next release that needs it makes it again."""
    package = oece_package()
    package["releases"] += [
        _amendment_release(7, 2500, "2024-01-02", "2024-04-02"),  # before the signing: refused
        _amendment_release(8, 2600, "2024-04-03"),
    ]
    out, err = run(tmp_path, package)
    assert "1 releases refused" in err and "amendment 7" in err, err
    (amendment,) = Contract.objects.get().amendments.all()
    assert amendment.source_ref == "8" and amendment.created_by.email == IMPORT_USER_EMAIL


def test_a_run_refreshes_the_red_flags_of_what_it_touched_once(tmp_path, monkeypatch):
    """Three amendment releases of one contract: one refresh of its entity's year at the
    end of the run, and the flags stored are what the rules compute from the end state."""
    from procurement import red_flags
    from procurement.models import ProcessRisk, ProcessRiskFlag

    scopes = []
    refresh = red_flags.refresh

    def counted(processes=None, *args, **kwargs):
        scopes.append(None if processes is None else sorted(processes.values_list("pk", flat=True)))
        return refresh(processes, *args, **kwargs)

    monkeypatch.setattr(red_flags, "refresh", counted)
    package = oece_package()
    package["releases"] += [
        _amendment_release(7, 2700, "2024-04-02"),
        _amendment_release(8, 3000, "2024-04-03"),
        _amendment_release(9, 3200, "2024-04-04"),  # 33% above the signed 2,400
    ]
    out, err = run(tmp_path, package)
    assert err == "" and "6 releases loaded" in out
    assert scopes == [[ProcurementProcess.objects.get().pk]]

    def stored():
        return (
            sorted(ProcessRisk.objects.values_list("process_id", "score", "flag_count", "codes")),
            sorted(ProcessRiskFlag.objects.values_list("process_id", "code", "evidence")),
        )

    after_import = stored()
    ((_pk, _score, _count, codes),) = after_import[0]
    assert "amended_above_limit" in codes
    red_flags.refresh()
    assert stored() == after_import


def test_a_termination_without_its_day_takes_the_releases_day_in_lima(tmp_path):
    """A release dated 01:30 UTC is 20:30 of the day before in Lima: the termination it
    records without an end date ended that Lima day, which is today there, not tomorrow
    (refused as a future day) as the UTC date would say."""
    from datetime import UTC, datetime

    from core import clock

    ended = _ended(terminatedBy="entidad", description="Caso fortuito")
    ended["date"] = "2024-04-28T01:30:00Z"
    del ended["contracts"][0]["period"]
    package = oece_package()
    package["releases"].append(ended)
    with clock.pinned(datetime(2024, 4, 28, 1, 45, tzinfo=UTC)):
        out, err = run(tmp_path, package)
    assert err == "" and "4 releases loaded" in out, err
    contract = Contract.objects.get()
    assert contract.status == Contract.Status.TERMINATED
    assert str(contract.ended_on) == "2024-04-27"
