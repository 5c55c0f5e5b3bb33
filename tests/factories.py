from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Membership, Role, User
from core import clock
from core.codelists import GovernmentLevel, SizeClass
from core.ruc import with_check_digit
from procurement.models import Entity
from suppliers.models import Supplier

TEST_PASSWORD = "a-Strong-test-password-42"


def ruc_sequence(prefix: str):
    """RUCs of 11 digits: `prefix`, the sequence number, the check digit."""
    return factory.Sequence(lambda n: with_check_digit(f"{prefix}{n:0{10 - len(prefix)}d}"))


class EntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Entity

    ruc = ruc_sequence("20")
    name = factory.Sequence(lambda n: f"Municipalidad Distrital de Prueba {n}")
    acronym = factory.Sequence(lambda n: f"MDP{n}")
    sector_id = "gobiernos-locales"
    level = GovernmentLevel.LOCAL
    ubigeo_id = "150101"


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier

    # Never an entity's RUC (EntityFactory's are 200...): a test that looks for a supplier's
    # RUC on a page must not find the entity's breadcrumb.
    ruc = ruc_sequence("205")
    legal_name = factory.Sequence(lambda n: f"Inversiones de Prueba {n} S.A.C.")
    domicile_id = "080101"
    registry_valid_until = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=365))
    size_class = SizeClass.MICRO
    size_rule_id = "ley-28015"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.pe")
    full_name = factory.Sequence(lambda n: f"Usuario {n}")
    email_verified_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, *args, password=TEST_PASSWORD, **kwargs):
        user = model_class(*args, **kwargs)
        user.set_password(password)
        user.save()
        return user


def staff_of(entity: Entity, **kwargs) -> User:
    user = UserFactory(**kwargs)
    Membership.objects.create(user=user, role=Role.ENTITY_STAFF, entity=entity)
    return user


def user_of(supplier: Supplier, **kwargs) -> User:
    user = UserFactory(**kwargs)
    Membership.objects.create(user=user, role=Role.SUPPLIER_USER, supplier=supplier)
    return user


def head_of(entity: Entity, **kwargs) -> User:
    """The entity's head: resolves its appeals below the tribunal's threshold."""
    user = UserFactory(**kwargs)
    Membership.objects.create(user=user, role=Role.ENTITY_HEAD, entity=entity)
    return user


def tribunal_member(**kwargs) -> User:
    user = UserFactory(**kwargs)
    Membership.objects.create(user=user, role=Role.TRIBUNAL)
    return user


def auditor(**kwargs) -> User:
    user = UserFactory(**kwargs)
    Membership.objects.create(user=user, role=Role.AUDITOR)
    return user


def admin_user(**kwargs) -> User:
    user = UserFactory(is_staff=True, **kwargs)
    Membership.objects.create(user=user, role=Role.ADMIN)
    return user


def plan_item_data(**overrides) -> dict:
    """Form-like data for one plan item (goods, office supplies, SME-suppliable)."""
    from core.models import CatalogItem

    data = {
        "object_type": "goods",
        "catalog_item": CatalogItem.objects.get(code="44121701"),
        "description": "Bolígrafos",
        "quantity": Decimal("100"),
        "unit": "NIU",
        "estimated_value": Decimal("1000.00"),
        "procedure_type": "COMPRE",
        "planned_month": 3,
        "sme_reserved": False,
    }
    data.update(overrides)
    if isinstance(data["catalog_item"], str):
        data["catalog_item"] = CatalogItem.objects.get(code=data["catalog_item"])
    return data


def draft_plan(entity=None, staff=None, year=2026, items=()):
    """A draft version 0 with the given items (dicts of overrides); returns (version, staff)."""
    from procurement.services import plans

    entity = entity or EntityFactory()
    staff = staff or staff_of(entity)
    version = plans.create_plan(staff, entity, year)
    for overrides in items:
        plans.add_item(staff, version, plan_item_data(**overrides))
    return version, staff


def published_plan(entity=None, staff=None, year=2026, items=()):
    """A published plan version (approved today); returns (version, staff)."""
    from procurement.services import plans

    version, staff = draft_plan(entity=entity, staff=staff, year=year, items=items)
    plans.publish_version(
        staff, version, approval_date=timezone.localdate(), sme_justification="prueba"
    )
    version.refresh_from_db()
    return version, staff


def compre_calendar(call):
    """A valid calendar for a Comparación de Precios called on `call` (a working day): bids
    from the call for three working days, then evaluation, award, standstill and contract."""
    from core.workdays import WorkingCalendar

    add = WorkingCalendar().add_working_days
    return {
        "convocatoria": (call, call),
        "ofertas": (call, add(call, 3)),
        "evaluacion": (add(call, 4), add(call, 4)),
        "buena_pro": (add(call, 5), add(call, 5)),
        "consentimiento": (add(call, 6), add(call, 10)),
        "contrato": (add(call, 11), add(call, 12)),
    }


def lp_calendar(call_start):
    """A valid Licitación Pública calendar starting on `call_start` (a working day)."""
    from core.workdays import WorkingCalendar

    cal = WorkingCalendar()
    add = cal.add_working_days
    call = cal.next_working_day(call_start)
    questions_end = add(call, 10)
    answers = add(questions_end, 2)
    integration = add(answers, 2)
    bids = max(add(call, 22), add(integration, 7))
    opening = add(bids, 1)
    evaluation_end = add(opening, 3)
    award = add(evaluation_end, 1)
    standstill_end = add(award, 8)
    contract = add(standstill_end, 3)
    return {
        "convocatoria": (call, call),
        "registro": (call, bids),
        "consultas": (call, questions_end),
        "absolucion": (answers, answers),
        "integracion": (integration, integration),
        "ofertas": (add(integration, 1), bids),
        "apertura": (opening, opening),
        "evaluacion": (opening, evaluation_end),
        "buena_pro": (award, award),
        "consentimiento": (add(award, 1), standstill_end),
        "contrato": (add(standstill_end, 1), contract),
    }


def process_from_plan(staff, version, items=None, procedure_type="LP", description="Servidores"):
    """A draft process made of `items` of a published plan version (all of them by default)."""
    from core.models import District
    from procurement.services import processes

    chosen = items if items is not None else list(version.items.all())
    return processes.create_process(
        staff,
        version.plan.entity,
        year=version.plan.fiscal_year_id,
        procedure_type=procedure_type,
        description=description,
        delivery_place="Sede",
        delivery_ubigeo=District(code="150101"),
        plan_item_ids=[item.pk for item in chosen],
    )


def designate_committee_of_two(staff, process):
    """Designate `staff` (president) and another staff member of the process's entity (a new
    one unless the entity has one) as the committee a draft needs before its call."""
    from procurement.services.committee import designate_committee, entity_staff

    other = entity_staff(process.entity).exclude(pk=staff.pk).first() or staff_of(process.entity)
    designate_committee(actor=staff, process=process, members=[staff, other], president=staff)
    set_default_criteria(staff, process)
    return process


def set_default_criteria(staff, process, *, award_by_items=False):
    """Give a draft the evaluation criteria its procedure type's rule accepts (technical 70,
    price 30; the price alone for lowest-price types; none for direct contracting), which the
    call needs besides the committee."""
    from procurement.services.criteria import default_criteria, set_criteria

    set_criteria(
        actor=staff,
        process=process,
        award_by_items=award_by_items,
        criteria=default_criteria(process.procedure_type),
    )
    return process


def last_working_day_until_today():
    """Today in Lima if it is a working day, else the working day before: a call on it has
    already happened whatever day (a Sunday, a holiday) the tests run."""
    from core.workdays import WorkingCalendar

    cal, day = WorkingCalendar(), timezone.localdate()
    while not cal.is_working_day(day):
        day -= timedelta(days=1)
    return day


def publish_with_lp_calendar(staff, process, call=None):
    """Give an LP process a valid calendar starting on `call` (default: the next working day
    from today) and publish it on that day."""
    from core.workdays import WorkingCalendar
    from procurement.services import processes

    call = call or WorkingCalendar().next_working_day(timezone.localdate())
    processes.set_calendar(staff, process, lp_calendar(call))
    if not process.committee_members.exists():
        designate_committee_of_two(staff, process)
    elif not process.criteria.exists():
        set_default_criteria(staff, process)
    with clock.pinned(call):
        return processes.publish_call(actor=staff, process=process)
