"""The portal in a real browser (Debian's Chromium driven by Playwright): each role does what
it comes for, by keyboard and mouse, against a live server. No browser is ever downloaded:
`make test` installs Debian's chromium when it can."""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from core.workdays import WorkingCalendar
from tests.factories import (
    TEST_PASSWORD,
    SupplierFactory,
    last_working_day_until_today,
    lp_calendar,
    process_from_plan,
    publish_with_lp_calendar,
    published_plan,
    user_of,
)

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.integration


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `apt-get install chromium` (make test does)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # around it are plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _query(read):
    """Read the database while Playwright's loop runs: the ORM gives this context its own
    connection, closed here so that the test database can be dropped at the end."""
    try:
        return read()
    finally:
        connections.close_all()


def _log_in(page, base, email):
    page.goto(f"{base}/cuentas/ingresar/")
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Contraseña").fill(TEST_PASSWORD)
    page.get_by_label("Contraseña").press("Enter")
    page.wait_for_load_state()


def test_a_visitor_and_a_supplier_use_the_portal_in_a_browser(live_server, browser):
    version, staff = published_plan(
        items=[
            {
                "description": "Servidores",
                "catalog_item": "43211503",
                "estimated_value": Decimal("450000"),
            }
        ]
    )
    # Called on a day already past (the live server reads the real clock).
    process = publish_with_lp_calendar(
        staff, process_from_plan(staff, version), call=last_working_day_until_today()
    )
    supplier = SupplierFactory(legal_name="Cómputo Andino S.A.C.")
    supplier_user = user_of(supplier)
    base = live_server.url

    # A visitor searches from the home page by keyboard alone and opens the process.
    page = browser.new_page()
    page.goto(base + "/")
    assert page.locator("html").get_attribute("lang") == "es"
    search = page.get_by_role("searchbox").or_(page.locator("input[name=q]")).first
    search.fill("servidores")
    search.press("Enter")
    page.wait_for_load_state()
    assert "/procesos/" in page.url
    page.get_by_role("link", name=process.identifier).first.click()
    page.wait_for_load_state()
    assert page.locator("h1").count() == 1
    assert process.identifier in page.content()

    # The same page in English, through the language switch (a form, no JavaScript needed).
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    page.close()

    # A supplier user logs in and registers as participant from the process page.
    context = browser.new_context()
    page = context.new_page()
    _log_in(page, base, supplier_user.email)
    page.goto(f"{base}/procesos/{process.identifier}/")
    page.get_by_role("button", name=f"Registrar a {supplier.legal_name}").click()
    page.wait_for_load_state()
    assert _query(lambda: process.participants.filter(supplier=supplier).exists())
    assert "participante" in page.locator("body").inner_text()
    context.close()


def test_staff_keep_their_calendar_dates_in_spanish_in_a_browser(live_server, browser):
    """The Spanish calendar form once rendered "26/11/2026" in date inputs: the browser
    showed empty fields and re-saving lost every date."""
    from procurement.services import processes

    version, staff = published_plan(
        items=[{"catalog_item": "43211503", "estimated_value": Decimal("450000")}]
    )
    process = process_from_plan(staff, version)
    call = WorkingCalendar().next_working_day(timezone.localdate() + timedelta(days=3))
    processes.set_calendar(staff, process, lp_calendar(call))
    context = browser.new_context(locale="es-PE")
    page = context.new_page()
    _log_in(page, live_server.url, staff.email)
    page.goto(f"{live_server.url}/gestion/procesos/{process.pk}/")
    assert page.locator("html").get_attribute("lang") == "es"
    call_start = page.locator("input[name=convocatoria_start]")
    # What the browser holds, not just the HTML: an invalid value would read as "".
    assert call_start.input_value() == call.isoformat()
    values = page.locator("input[type=date]").evaluate_all("inputs => inputs.map(i => i.value)")
    assert values and all(values), values
    # Save the form unchanged: it goes through and the dates stay as they were.
    page.get_by_role("button", name="Guardar el calendario").click()
    page.wait_for_load_state()
    assert "Calendario guardado" in page.locator("body").inner_text()
    stored = _query(lambda: dict(process.stages.values_list("stage", "start")))
    assert stored["convocatoria"] == call
    context.close()


def test_an_sme_bids_and_keeps_its_receipt_in_a_browser_without_javascript(live_server, browser):
    """A demo-like micro enterprise logs in, registers in a called process, submits a sealed
    bid with a PDF, sees and downloads its receipt (JavaScript off: a plain data: link), then
    finds it in the public ledger."""
    import json

    from django.urls import Resolver404, resolve

    from core import signing
    from procurement.models import ProcessStage
    from procurement.receipts import verify_receipt
    from tests.procurement.bidding import called_tender, classify

    tender = called_tender(sme_only=True, items=1)
    process = tender.process
    # The live server reads the real clock: open the bid stage today.
    today = timezone.localdate()
    stages = ProcessStage.objects.filter(process=process)
    stages.filter(stage="ofertas").update(start=today, end=today + timedelta(days=5))
    stages.filter(stage="registro").update(end=today + timedelta(days=5))
    supplier = SupplierFactory(legal_name="Textiles Micro Andina E.I.R.L.", size_class="")
    # A micro enterprise by last year's sales: the classification an SME-only process asks for.
    classify(supplier, "micro", today.year - 1)
    user = user_of(supplier, email="proveedor.micro@demo.example.pe")
    base = live_server.url
    context = browser.new_context(java_script_enabled=False, accept_downloads=True)
    page = context.new_page()
    _log_in(page, base, user.email)

    # Register from the process page, then open the bid page it offers.
    page.goto(f"{base}/procesos/{process.identifier}/")
    page.get_by_role("button", name=f"Registrar a {supplier.legal_name}").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Preparar y presentar una oferta").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == f"Mi oferta en {process.identifier}"

    # One PDF into the sealed envelope.
    body = b"%PDF-1.7\n1 0 obj << /Contents (propuesta tecnica) >> endobj\n%%EOF\n"
    page.get_by_label("Título").fill("Propuesta técnica")
    page.get_by_label("Archivo").set_input_files(
        {"name": "propuesta.pdf", "mimeType": "application/pdf", "buffer": body}
    )
    page.get_by_role("button", name="Agregar al sobre").click()
    page.wait_for_load_state()
    assert "Propuesta técnica" in page.locator("body").inner_text()

    # The offer: the server computes the total and asks to confirm; the password was entered
    # at login a moment ago, so it is not asked again.
    item = _query(lambda: process.items.get())
    page.get_by_label(f"Precio unitario de {item.description} (S/)").fill("1250.50")
    page.get_by_role("button", name="Revisar la oferta").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Confirme su oferta"
    assert page.locator("input[name=password]").count() == 0
    page.get_by_role("button", name="Confirmar y presentar la oferta").click()
    page.wait_for_load_state()

    # The receipt, at once; its JSON downloads without JavaScript and verifies offline.
    receipt_hash = page.locator("#receipt-hash").inner_text().strip()
    assert len(receipt_hash) == 64
    with page.expect_download() as download:
        page.get_by_role("link", name="Descargar la constancia (JSON)").click()
    assert download.value.suggested_filename == f"recibo-{receipt_hash}.json"
    receipt = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert receipt["receipt_hash"] == receipt_hash
    assert receipt["content"]["process"] == process.identifier
    assert verify_receipt(receipt, signing.public_key_pem())
    assert _query(lambda: process.receipts.filter(receipt_hash=receipt_hash).exists())

    # The public ledger finds it (the /recibos/<hash>/ page comes from another branch).
    try:
        resolve(f"/recibos/{receipt_hash}/")
    except Resolver404:
        context.close()
        pytest.skip("/recibos/<hash>/ is not on this branch yet")
    response = page.goto(f"{base}/recibos/{receipt_hash}/")
    assert response.status == 200
    assert receipt_hash in page.content() and process.identifier in page.content()
    context.close()
