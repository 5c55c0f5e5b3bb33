"""base.html's navigation and footer are written once per process for each combination of
roles and language ({% same_for %}, core.templatetags.fragments): each user must still see
the links of its own roles and its own e-mail and form tokens, and a fragment reused must be
the markup a fresh rendering writes."""

import re

import pytest
from django.test import Client

from core.templatetags import fragments
from tests.factories import EntityFactory, SupplierFactory, auditor, staff_of, user_of

pytestmark = pytest.mark.django_db

MY_BIDS = 'href="/proveedores/mi-cuenta/ofertas/"'
LOG_IN = 'href="/cuentas/ingresar/"'
AUDIT_TRAIL = 'href="/auditoria/registro/"'


def _page(user=None, language=None) -> str:
    client = Client()
    if user is not None:
        client.force_login(user)
    if language:
        client.cookies["django_language"] = language
    response = client.get("/recibos/")
    assert response.status_code == 200
    return response.content.decode()


def _header_and_footer(page: str) -> str:
    return page.split('<main id="main"')[0] + page.split("</main>")[1]


def test_each_user_sees_the_navigation_of_its_own_roles():
    supplier_user = user_of(SupplierFactory(), email="proveedor@example.pe")
    staff = staff_of(EntityFactory(), email="personal@example.pe")
    reader = auditor(email="auditora@example.pe")
    for _round in range(2):  # the second round reuses every fragment the first one wrote
        mine = _page(supplier_user)
        assert MY_BIDS in mine and LOG_IN not in mine and "proveedor@example.pe" in mine
        theirs = _page(staff)
        assert MY_BIDS not in theirs and LOG_IN not in theirs
        assert "personal@example.pe" in theirs and "proveedor@example.pe" not in theirs
        audit = _page(reader)
        assert "auditora@example.pe" in audit and MY_BIDS not in audit
        anonymous = _page()
        assert LOG_IN in anonymous and MY_BIDS not in anonymous and "@example.pe" not in anonymous
        english = _page(supplier_user, "en")
        assert ">My bids<" in english and ">Mis ofertas<" in mine
    assert AUDIT_TRAIL in audit and AUDIT_TRAIL not in mine and AUDIT_TRAIL not in anonymous
    # Each form token is the request's own, outside the fragments.
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', mine)
    assert tokens and not set(tokens) & set(
        re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', _page(supplier_user))
    )


def test_a_reused_fragment_is_what_a_fresh_rendering_writes():
    user = user_of(SupplierFactory())
    _page(user)
    reused = _header_and_footer(_page(user))
    fragments.forget()
    fresh = _header_and_footer(_page(user))
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert token.sub("", reused) == token.sub("", fresh)
    assert fragments._written  # written again
