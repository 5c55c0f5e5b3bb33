"""Spanish is the portal's first language: every UI string must be translated."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"
SOURCES = [
    "manage.py",
    "config",
    "core",
    "accounts",
    "suppliers",
    "procurement",
    "notifications",
    "templates",
]


def _statistics(po_file: Path) -> str:
    result = subprocess.run(
        ["msgfmt", "--check-format", "--statistics", "-o", "/dev/null", str(po_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stderr


def test_every_string_in_the_code_is_translated_to_spanish(tmp_path):
    for name in SOURCES:
        source = ROOT / name
        target = tmp_path / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("data", "__pycache__"))
        else:
            shutil.copy(source, target)
    (tmp_path / "locale" / "es" / "LC_MESSAGES").mkdir(parents=True)
    shutil.copy(PO, tmp_path / "locale" / "es" / "LC_MESSAGES" / "django.po")
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "es", "--no-obsolete", "-v0"],
        cwd=tmp_path,
        check=True,
    )
    stats = _statistics(tmp_path / "locale" / "es" / "LC_MESSAGES" / "django.po")
    assert "untranslated" not in stats and "fuzzy" not in stats, (
        f"{stats.strip()}: run `make messages` and translate the new strings in {PO}"
    )


def test_compiled_catalog_matches_the_po_file(tmp_path):
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(compiled), str(PO)], check=True)
    assert compiled.read_bytes() == PO.with_suffix(".mo").read_bytes(), "run `make messages`"


# --- forms and plurals, rendered in both languages ------------------------------------------

OPTION = re.compile(r"<option[^>]*>([^<]*)</option>")
# Labels third-party libraries fall back to when nobody translated or chose them.
UNTRANSLATED = {
    "es": {"---------", "Unknown", "Desconocido", "Any", "Yes", "Select an option"},
    "en": {"---------", "Desconocido", "Todos", "Sí", "Seleccione una opción"},
}
# In Spanish a count of one takes the singular: "1 resultados" is the bug this catches.
ONE_IN_PLURAL = re.compile(r"\b1 (resultados|días|ítems|registros|entradas|results|items)\b")


def _page_problems(html: str, language: str) -> list[str]:
    text = re.sub(r"<[^>]+>", " ", html)
    problems = [
        f"option {o!r}" for o in OPTION.findall(html) if o.strip() in UNTRANSLATED[language]
    ]
    problems += [f"text {m.group(0)!r}" for m in ONE_IN_PLURAL.finditer(text)]
    problems += [w for w in ("Select an option", "Unknown") if w in text]
    return problems


@pytest.fixture
def portal():
    """One of each thing the pages show: a plan, a called process, a draft, a supplier."""
    from tests.factories import (
        SupplierFactory,
        auditor,
        process_from_plan,
        publish_with_lp_calendar,
        published_plan,
    )

    version, staff = published_plan(
        items=[
            {"description": "Computadoras", "catalog_item": "43211503", "estimated_value": 450000},
            {"description": "Papel bond", "estimated_value": 60000, "sme_reserved": True},
        ]
    )
    called = process_from_plan(staff, version, [version.items.get(description="Computadoras")])
    called = publish_with_lp_calendar(staff, called)
    draft = process_from_plan(
        staff, version, [version.items.get(description="Papel bond")], procedure_type="COMPRE"
    )
    supplier = SupplierFactory()
    entity = version.plan.entity
    public = [
        "/",
        "/procesos/",
        f"/procesos/{called.identifier}/",
        "/planes/",
        f"/planes/{entity.ruc}/{version.plan.fiscal_year_id}/",
        "/entidades/",
        f"/entidades/{entity.ruc}/",
        "/proveedores/",
        f"/proveedores/{supplier.ruc}/",
        "/cuentas/ingresar/",
        "/cuentas/registro/",
        "/cuentas/contrasena/restablecer/",
    ]
    staff_pages = [
        "/gestion/planes/",
        f"/gestion/planes/{version.pk}/",
        "/gestion/procesos/",
        f"/gestion/procesos/nuevo/{version.pk}/",
        "/gestion/procesos/nuevo/fuera-del-plan/",
        f"/gestion/procesos/{draft.pk}/",
        f"/gestion/procesos/{called.pk}/",
    ]
    return {
        "called": called,
        "pages": [(None, public), (staff, staff_pages), (auditor(), ["/auditoria/registro/"])],
    }


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["es", "en"])
def test_pages_and_forms_show_no_untranslated_library_labels(client, portal, language):
    problems, pages = {}, 0
    for user, urls in portal["pages"]:
        client.logout()
        client.cookies["django_language"] = language
        if user is not None:
            client.force_login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            assert f'<html lang="{language}">' in html, url
            pages += 1
            if found := _page_problems(html, language):
                problems[url] = found
    assert pages >= 20
    assert problems == {}


@pytest.mark.django_db
def test_yes_no_filters_read_any_yes_no_and_still_filter(client, portal):
    client.cookies["django_language"] = "es"
    html = client.get("/procesos/").content.decode()
    select = re.search(r'<select name="sme_only"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert OPTION.findall(select) == ["Todos", "Sí", "No"]
    assert re.search(r'<option value="" selected>', select)
    html = client.get("/procesos/", {"sme_only": "false"}).content.decode()
    select = re.search(r'<select name="sme_only"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert '<option value="false" selected>No</option>' in select
    assert portal["called"].identifier in html  # not SME-only: still found
    html = client.get("/procesos/", {"sme_only": "true"}).content.decode()
    assert portal["called"].identifier not in html
    client.cookies["django_language"] = "en"
    html = client.get("/planes/").content.decode()
    select = re.search(r'<select name="compliant"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert OPTION.findall(select) == ["Any", "Yes", "No"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"), [("es", "1 resultado</p>"), ("en", "1 result</p>")]
)
def test_one_result_is_singular(client, portal, language, expected):
    client.cookies["django_language"] = language
    html = client.get("/procesos/").content.decode()
    assert expected in html


def _entries(po_text: str) -> list[dict]:
    """The catalog's entries as {"msgid", "msgid_plural", "msgstr[0]"...} (enough of a parser
    for the file makemessages writes)."""
    entries = []
    for block in po_text.split("\n\n"):
        entry, key = {}, None
        for line in block.splitlines():
            if line.startswith("#"):
                if line.startswith("#, ") and "fuzzy" in line:
                    entry["fuzzy"] = True
                continue
            match = re.match(r'^(msgid_plural|msgid|msgstr(?:\[\d\])?) "(.*)"$', line)
            if match:
                key = match.group(1)
                entry[key] = match.group(2)
            elif line.startswith('"') and key:
                entry[key] += line[1:-1]
        if entry.get("msgid"):
            entries.append(entry)
    return entries


def test_every_plural_form_is_translated():
    text = PO.read_text(encoding="utf-8")
    plurals = int(re.search(r"nplurals=(\d+)", text).group(1))
    entries = [e for e in _entries(text) if "msgid_plural" in e]
    assert len(entries) >= 10
    missing = [
        e["msgid"] for e in entries if any(not e.get(f"msgstr[{n}]") for n in range(plurals))
    ]
    assert missing == []
    # the singular form says one thing, not "1 resultados"
    wrong = [
        e["msgid"] for e in entries if re.search(r"\b(resultados|días hábiles)", e["msgstr[0]"])
    ]
    assert wrong == []


# Placeholders that count things: their sentence needs a plural form (ngettext or
# {% blocktranslate count %}). Configured limits (%(items)s, %(max)s...) are never one.
COUNTS = r"%\((count|days|checked|counter|shown)\)[sd]|\{\{ ?(count|counter|shown) ?\}\}"


def test_counted_sentences_have_plural_forms():
    singular = [
        e["msgid"] for e in _entries(PO.read_text(encoding="utf-8")) if "msgid_plural" not in e
    ]
    counted = [m for m in singular if re.search(rf"({COUNTS}) [a-z]", m)]
    assert counted == [], "use ngettext / {% blocktranslate count %} for these"
