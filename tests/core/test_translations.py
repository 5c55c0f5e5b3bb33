"""Spanish is the portal's first language: every UI string must be translated."""

import shutil
import subprocess
import sys
from pathlib import Path

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
