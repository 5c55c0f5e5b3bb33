"""The rule for when the catalog's SME flag is read is stated where a journalist reads how the
share is computed (/mype/metodologia/): the actual share reads each code's current flag (so a
flag edit rewrites past years too: test_sme_summary_admin shows the summary follows it), a
published plan keeps the flags of its publication."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_methodology_page_states_when_the_catalog_flag_is_read(client):
    html = client.get("/mype/metodologia/").content.decode()
    assert 'id="flag-timing"' in html
    assert "incluidos los pasados, se calcula de nuevo con la marca actual del código" in html
    assert "conserva las marcas que tenían los códigos al publicarse" in html
