"""Demo accounts, one or more per role, with a shared password printed by `make run`."""

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.models import Membership, Role, User
from suppliers.models import Supplier

from ..models import Entity

DEMO_PASSWORD = "demo-portal-2026"  # noqa: S105 - printed on purpose: demo accounts only
DEMO_DOMAIN = "demo.portal.pe"
# The committee staff of the entities without demo accounts (not printed, never in CONTRACT.md).
COMMITTEE_DOMAIN = f"entidades.{DEMO_DOMAIN}"
# The entities with printed staff accounts (CONTRACT.md): staff.<x> and staff2.<x>.
DEMO_ENTITIES = ["MINSA", "GORE-CUSCO", "MP-AREQUIPA"]


def build_users(seed: int, today) -> list[tuple[str, str, str]]:
    """Create the demo accounts; returns (e-mail, role, scope) rows to print."""
    # One hash for all demo accounts, salted from the seed so reruns give identical rows.
    password = make_password(DEMO_PASSWORD, salt=f"demoseed{seed:08d}")
    joined = timezone.make_aware(timezone.datetime.combine(today, timezone.datetime.min.time()))
    rows: list[tuple[str, str, str]] = []
    memberships: list[Membership] = []

    def user(local: str, name: str, **extra) -> User:
        account = User(
            email=f"{local}@{DEMO_DOMAIN}",
            full_name=name,
            password=password,
            email_verified_at=joined,
            date_joined=joined,
            **extra,
        )
        account.save()
        return account

    admin = user("admin", "Administradora del Portal", is_staff=True, is_superuser=True)
    memberships.append(Membership(user=admin, role=Role.ADMIN))
    rows.append((admin.email, "admin", "—"))
    auditor = user("auditor", "Auditor de la Contraloría")
    memberships.append(Membership(user=auditor, role=Role.AUDITOR))
    rows.append((auditor.email, "auditor", "—"))
    # The national tribunal resolves the appeals above the threshold (procurement.rules).
    tribunal = user("tribunal", "Tribunal de Contrataciones del Estado")
    memberships.append(Membership(user=tribunal, role=Role.TRIBUNAL))
    rows.append((tribunal.email, "tribunal", "—"))

    for acronym in DEMO_ENTITIES:
        entity = Entity.objects.filter(acronym=acronym).first()
        if entity is None:
            continue
        # Two committee members per entity, for the actions that need two (the opening).
        local = acronym.lower().replace("-", "")
        for prefix, name in [("staff", "Presidencia"), ("staff2", "Miembro")]:
            staff = user(f"{prefix}.{local}", f"{name} del comité de {acronym}")
            memberships.append(Membership(user=staff, role=Role.ENTITY_STAFF, entity=entity))
            rows.append((staff.email, "entity_staff", f"{entity.name} ({entity.ruc})"))
        # The entity's head resolves its appeals up to the threshold (never on a committee).
        head = user(f"titular.{local}", f"Titular de {acronym}")
        memberships.append(Membership(user=head, role=Role.ENTITY_HEAD, entity=entity))
        rows.append((head.email, "entity_head", f"{entity.name} ({entity.ruc})"))

    today_suppliers = Supplier.objects.filter(registry_valid_until__gte=today, ruc__startswith="20")
    for size, local in [("micro", "micro"), ("small", "pequena"), ("medium_or_large", "mediana")]:
        supplier = today_suppliers.filter(size_class=size).order_by("ruc").first()
        if supplier is None:
            continue
        account = user(f"proveedor.{local}", f"Gerente de {supplier.legal_name}")
        memberships.append(Membership(user=account, role=Role.SUPPLIER_USER, supplier=supplier))
        rows.append(
            (account.email, "supplier_user", f"{supplier.legal_name} ({supplier.ruc}, {size})")
        )
    staffed = {m.entity_id for m in memberships if m.role == Role.ENTITY_STAFF}
    memberships.extend(_committee_staff(password, joined, staffed))
    Membership.objects.bulk_create(memberships)
    return rows


def _committee_staff(password: str, joined, staffed: set[int]) -> list[Membership]:
    """Two staff for every other entity, so that every seeded process has a committee of two
    of its entity's staff (procurement.demo.processes), and its head, who resolves its
    appeals (procurement.demo.awards). They use the demo password but are not printed: their
    addresses are under COMMITTEE_DOMAIN, by the entity's RUC."""
    users: list[User] = []
    entities: list[Entity] = []
    roles: list[str] = []
    accounts = [
        ("staff", "Presidencia del comité", Role.ENTITY_STAFF),
        ("staff2", "Miembro del comité", Role.ENTITY_STAFF),
        ("titular", "Titular", Role.ENTITY_HEAD),
    ]
    for entity in Entity.objects.exclude(pk__in=staffed).order_by("ruc"):
        for prefix, name, role in accounts:
            users.append(
                User(
                    email=f"{prefix}.{entity.ruc}@{COMMITTEE_DOMAIN}",
                    full_name=f"{name} de {entity.acronym}",
                    password=password,
                    email_verified_at=joined,
                    date_joined=joined,
                )
            )
            entities.append(entity)
            roles.append(role)
    User.objects.bulk_create(users, batch_size=2000)
    created = dict(
        User.objects.filter(email__endswith=f"@{COMMITTEE_DOMAIN}").values_list("email", "pk")
    )
    return [
        Membership(user_id=created[user.email], role=role, entity=entity)
        for user, entity, role in zip(users, entities, roles, strict=True)
    ]
