"""Spanish full-text search of processes (procurement.search): accents and plurals folded the
same way on PostgreSQL's stored tsvector and on the folded column of other databases."""

import pytest

from core import folding
from procurement import search
from procurement.models import ProcurementProcess
from tests.factories import EntityFactory
from tests.procurement.searching import published

pytestmark = pytest.mark.django_db


def test_folding_drops_accents_case_function_words_and_plural_endings():
    assert folding.terms("Adquisición de COMPUTADORAS") == folding.terms("adquisicion computadora")
    assert folding.terms("servicios de limpieza") == folding.terms("servicio limpieza")
    assert folding.unaccented("Año 2026: ÑANDÚ, Adquisición") == "ano 2026: nandu, adquisicion"
    assert folding.folded("Servicios de LIMPIEZA") == " servici limpiez "
    assert folding.matches("computadoras", "Adquisición de computadora portátil")
    assert not folding.matches("computadoras", "Adquisición de impresoras")
    assert not folding.matches("de la", "servicios de la sede")  # nothing searchable asked


@pytest.fixture
def processes():
    municipality = EntityFactory(name="Municipalidad Provincial de Huánuco", acronym="MPHCO")
    return {
        "computer": published("Adquisición de computadora portátil"),
        "cleaning": published("Servicios de limpieza de oficinas administrativas"),
        "masks": published("Insumos médicos", items=["Mascarillas quirúrgicas descartables"]),
        "huanuco": published("Mantenimiento de pistas", entity=municipality),
        "printers": published("Adquisición de impresoras láser"),
    }


@pytest.mark.parametrize("engine", [search.TSVECTOR, search.FOLDED])
def test_phrases_find_their_accented_and_plural_forms_on_both_engines(processes, engine):
    from django.db import connection

    if engine == search.TSVECTOR and connection.vendor != "postgresql":
        pytest.skip("the tsvector engine is PostgreSQL's")
    search.refresh(ProcurementProcess.objects.all(), engine=engine)

    def found(text):
        matches = search.filter_text(ProcurementProcess.objects.all(), text, engine=engine)
        return {key for key, p in processes.items() if matches.filter(pk=p.pk).exists()}

    assert found("computadoras") == {"computer"}
    assert found("adquisicion") == {"computer", "printers"}
    assert found("ADQUISICIÓN") == {"computer", "printers"}
    assert found("servicio de limpieza") == {"cleaning"}
    assert found("mascarilla") == {"masks"}  # an item's words
    assert found("huanuco") == {"huanuco"}  # the entity's name
    assert found("mphco") == {"huanuco"}  # and acronym
    assert found("computadora limpieza") == set()  # every word must match
    assert found("de la") == set()


def test_the_search_page_folds_accents_and_plurals(client, processes):
    page = client.get("/procesos/", {"q": "computadoras"}).context["page"]
    assert [p.pk for p in page] == [processes["computer"].pk]
    page = client.get("/procesos/", {"q": "servicio de limpieza"}).context["page"]
    assert [p.pk for p in page] == [processes["cleaning"].pk]
    rows = client.get("/procesos/", {"q": "adquisicion", "format": "csv"}).getvalue().decode()
    assert processes["computer"].identifier in rows and processes["printers"].identifier in rows
    assert processes["cleaning"].identifier not in rows


def test_an_exact_identifier_goes_straight_to_its_process(client, processes):
    process = processes["masks"]
    for typed in (process.identifier, process.identifier.lower(), f"  {process.identifier} "):
        response = client.get("/procesos/", {"q": typed})
        assert response.status_code == 302
        assert response["Location"] == f"/procesos/{process.identifier}/"
    # with other filters it is the one result of the list (and of the CSV)
    response = client.get("/procesos/", {"q": process.identifier, "status": "convocado"})
    assert [p.pk for p in response.context["page"]] == [process.pk]


def test_words_and_an_identifier_are_looked_up_as_an_identifier_once(client, processes):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def lookups(typed: str) -> tuple[int, list[str]]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/procesos/", {"q": typed})
        wanted = f"\"identifier\" = '{typed.strip().upper()}'"
        return response.status_code, [q["sql"] for q in captured if wanted in q["sql"]]

    status, found = lookups("computadoras")
    assert status == 200 and len(found) == 1, found
    status, found = lookups(processes["masks"].identifier)
    assert status == 302 and len(found) == 1, found


def test_the_search_form_reads_its_sectors_and_departments_without_a_server_cursor(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get("/procesos/", {"department": "15"})
    assert response.status_code == 200
    assert not [q["sql"] for q in captured if q["sql"].startswith("DECLARE")]
    html = response.content.decode()
    assert '<option value="15" selected>' in html  # the chosen department stays chosen
    assert html.count("<option") > 30  # every department and sector listed


def test_an_entity_renamed_in_the_admin_is_found_by_its_new_name(client, processes):
    from procurement.admin import EntityAdmin
    from procurement.models import Entity
    from tests.factories import admin_user

    entity = processes["huanuco"].entity
    admin = EntityAdmin(Entity, None)
    entity.name = "Municipalidad Provincial de Leoncio Prado"

    class Form:
        changed_data = ["name"]

    request = type("Request", (), {"user": admin_user()})()
    admin.save_model(request, entity, Form(), change=True)
    page = client.get("/procesos/", {"q": "leoncio prado"}).context["page"]
    assert [p.pk for p in page] == [processes["huanuco"].pk]


@pytest.mark.parametrize(
    "text",
    [
        "Adquisición de computadoras portátiles para la sede central",
        "SERVICIOS DE LIMPIEZA Y DESINFECCIÓN DE AMBIENTES",
        "Que más está de él esta Ñuñoa",
        "Mascarillas quirúrgicas descartables KN95, caja x 100 unidades",
        "Mantenimiento periódico de la carretera Huánuco - Tingo María",
    ],
)
def test_python_folding_and_postgresql_agree(text):
    """core.folding (SQLite, subscriptions) and the `portal_es` configuration (the tsvector)
    give the same words: one folding, two implementations."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("compares with PostgreSQL's configuration")
    with connection.cursor() as cursor:
        cursor.execute("SELECT tsvector_to_array(to_tsvector('portal_es', %s))", [text])
        lexemes = set(cursor.fetchone()[0])
    assert set(folding.terms(text)) == lexemes


def test_relevance_puts_the_description_before_the_items_and_pages_within_its_window(
    client, monkeypatch
):
    """sort=relevance ranks by the stored vector's weights (description, then items), among
    the newest matches only (search.RELEVANCE_WINDOW); without words it is newest first."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("ranking is PostgreSQL's")
    in_items = published("Insumos varios", items=["Mascarillas quirúrgicas"])
    in_description = published("Mascarillas quirúrgicas para hospitales")
    published("Adquisición de impresoras")  # no match
    newest_first = client.get("/procesos/", {"q": "mascarillas"}).context["page"].object_list
    assert newest_first == [in_description, in_items]  # the later call first
    url = "/procesos/"
    ranked = client.get(url, {"q": "mascarillas", "sort": "relevance"}).context["page"]
    assert ranked.object_list[0] == in_description and len(ranked.object_list) == 2
    # Pages of one row: the second page holds the item match, and a forged cursor is refused.
    monkeypatch.setattr(search, "RELEVANCE_WINDOW", 2)
    from core import keyset

    first = keyset.window_page(
        search.ranked(
            search.filter_text(ProcurementProcess.objects.all(), "mascarillas"), "mascarillas"
        ),
        "relevance",
        window=2,
        size=1,
    )
    assert first.object_list == [in_description] and first.next_cursor
    second = client.get(
        url, {"q": "mascarillas", "sort": "relevance", "cursor": first.next_cursor}
    ).context["page"]
    assert second.object_list == [in_items] and not second.next_cursor
    forged = client.get(
        url, {"q": "mascarillas", "sort": "relevance", "cursor": "WyItZGF0ZSIsIDVd"}
    )
    assert forged.status_code == 400
    # The window holds the newest matches only: a window of one ranks the newest alone.
    monkeypatch.setattr(search, "RELEVANCE_WINDOW", 1)
    assert list(
        search.ranked(
            search.filter_text(ProcurementProcess.objects.all(), "mascarillas"), "mascarillas"
        )
    ) == [in_description]


def test_relevance_reads_the_stored_weights_not_the_newest_first():
    """The rank is the stored vector's (description A, items B, entity C): an older process
    with the word in its description outranks a newer one with it in several items, which
    outranks a newer still with it only in its entity's name. Ranking a vector re-parsed from
    its text (weights lost, each word once) would tie them all and put the newest first."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("ranking is PostgreSQL's")
    in_description = published("Guantes de nitrilo para hospitales")
    in_items = published("Insumos varios", items=["Guantes quirúrgicos", "Guantes de látex"])
    in_entity = published(
        "Adquisición de bienes", entity=EntityFactory(name="Centro de Guantes del Perú")
    )
    assert search.filter_text(ProcurementProcess.objects.all(), "guantes").count() == 3
    ranked = list(
        search.ranked(search.filter_text(ProcurementProcess.objects.all(), "guantes"), "guantes")
    )
    assert ranked == [in_description, in_items, in_entity]


def test_relevance_counts_every_match_and_says_it_ranks_the_newest(client, monkeypatch):
    """The ranking orders the newest RELEVANCE_WINDOW matches, but the count is of every match
    (as sorted by date), and the page says what the ranking covers."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("ranking is PostgreSQL's")
    for n in range(3):
        published(f"Mascarillas lote {n}")
    monkeypatch.setattr(search, "RELEVANCE_WINDOW", 2)
    by_date = client.get("/procesos/", {"q": "mascarillas"})
    ranked = client.get("/procesos/", {"q": "mascarillas", "sort": "relevance"})
    assert by_date.context["page"].count == ranked.context["page"].count == 3
    assert len(ranked.context["page"].object_list) == 2
    assert "data-ranked-within" in ranked.content.decode()
    assert "data-ranked-within" not in by_date.content.decode()
    monkeypatch.setattr(search, "RELEVANCE_WINDOW", 3)
    whole = client.get("/procesos/", {"q": "mascarillas", "sort": "relevance"})
    assert "data-ranked-within" not in whole.content.decode()
