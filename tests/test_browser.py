"""The portal in a real browser (Debian's Chromium driven by Playwright): each role does what
it comes for, by keyboard and mouse, against a live server. No browser is ever downloaded:
`make test` installs Debian's chromium when it can."""

import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connections

from tests.factories import (
    TEST_PASSWORD,
    SupplierFactory,
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
    process = publish_with_lp_calendar(staff, process_from_plan(staff, version))
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
