"""Accessibility smoke test over the main pages: one h1, a language, and a label (or legend)
for every form control, so forms work with screen readers and without JavaScript."""

from decimal import Decimal
from html.parser import HTMLParser

import pytest

from core.models import District
from procurement.services import processes
from tests.factories import (
    SupplierFactory,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
)

pytestmark = pytest.mark.django_db


class Audit(HTMLParser):
    def __init__(self):
        super().__init__()
        self.h1 = 0
        self.lang = None
        self.label_for: set[str] = set()
        self.controls: list[tuple[str, dict]] = []
        self.label_depth = 0
        self.fieldset_depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "label":
            self.label_depth += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        elif tag == "fieldset":
            self.fieldset_depth += 1
        elif tag in ("input", "select", "textarea"):
            if attrs.get("type") in ("hidden", "submit", "button"):
                return
            inside = self.label_depth > 0 or (
                self.fieldset_depth > 0 and attrs.get("type") in ("radio", "checkbox")
            )
            self.controls.append((tag, {**attrs, "_inside_label": inside}))

    def handle_endtag(self, tag):
        if tag == "label":
            self.label_depth -= 1
        elif tag == "fieldset":
            self.fieldset_depth -= 1


def audit(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    parser = Audit()
    parser.feed(response.content.decode())
    assert parser.lang in ("es", "en"), url
    assert parser.h1 == 1, f"{url}: {parser.h1} h1"
    for tag, attrs in parser.controls:
        labelled = (
            attrs["_inside_label"] or attrs.get("id") in parser.label_for or attrs.get("aria-label")
        )
        assert labelled, f"{url}: unlabelled <{tag} name={attrs.get('name')!r}>"
    assert 'for=""' not in response.content.decode(), url


@pytest.fixture
def site():
    version, staff = published_plan(
        items=[
            {
                "description": "Servidores",
                "catalog_item": "43211503",
                "estimated_value": Decimal("450000"),
            }
        ]
    )
    return version, staff, publish_with_lp_calendar(staff, process_from_plan(staff, version))


def test_public_pages(client, site):
    version, _staff, process = site
    entity = version.plan.entity
    supplier = SupplierFactory()
    for url in [
        "/",
        "/procesos/",
        f"/procesos/{process.identifier}/",
        "/planes/",
        f"/planes/{entity.ruc}/2026/",
        "/entidades/",
        f"/entidades/{entity.ruc}/",
        "/proveedores/",
        f"/proveedores/{supplier.ruc}/",
        "/cuentas/ingresar/",
        "/cuentas/registro/",
        "/cuentas/registro/sin-ruc/",
    ]:
        audit(client, url)


def test_staff_pages(client, site):
    version, staff, process = site
    client.force_login(staff)
    draft = processes.create_process(
        staff,
        version.plan.entity,
        year=2026,
        procedure_type="COMPRE",
        description="Otro",
        delivery_place="Sede",
        delivery_ubigeo=District(code="150101"),
        outside_plan_reason="Urgencia",
        items=[
            {
                "object_type": "goods",
                "catalog_item": version.items.get().catalog_item,
                "description": "x",
                "quantity": Decimal(1),
                "unit": "NIU",
                "estimated_value": Decimal("50000"),
            }
        ],
    )
    for url in [
        "/gestion/planes/",
        f"/gestion/planes/{version.pk}/",
        "/gestion/procesos/",
        f"/gestion/procesos/nuevo/{version.pk}/",
        "/gestion/procesos/nuevo/fuera-del-plan/",
        f"/gestion/procesos/{process.pk}/",
        f"/gestion/procesos/{draft.pk}/",
    ]:
        audit(client, url)
    # The followed processes' page, with a follow and the calendar address shown.
    from procurement.subscriptions.follows import follow_process, regenerate_calendar_token

    follow_process(actor=staff, process=process)
    regenerate_calendar_token(actor=staff)
    audit(client, "/cuentas/seguidos/")
    audit(client, f"/procesos/{process.identifier}/")
