"""The demo seed run once for a module's checks (seeding takes seconds; a seed per test took
minutes of the suite), rolled back when the module ends. Its files (documents, acts) and its
audit anchors stay in folders of their own, which the tests of the module read
(`seed_folders` in tests/conftest.py)."""

from contextlib import contextmanager
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

from django.core.management import call_command
from django.db import transaction
from django.test import override_settings


@dataclass(frozen=True)
class Seeded:
    output: str  # what seed_demo printed
    media: Path
    anchors: Path

    def __contains__(self, text: str) -> bool:
        return text in self.output


@contextmanager
def seeded_once(django_db_blocker, tmp_path_factory, *arguments: str):
    """`seed_demo *arguments` inside a transaction that is rolled back when the block ends;
    use it in a module- or class-scoped fixture (its tests run in savepoints inside it)."""
    media = tmp_path_factory.mktemp("seed-media")
    anchors = tmp_path_factory.mktemp("seed-anchors")
    out = StringIO()
    with (
        django_db_blocker.unblock(),
        override_settings(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            MEDIA_ROOT=media,
            ANCHOR_DIR=anchors,
        ),
        transaction.atomic(),
    ):
        call_command("seed_demo", *arguments, stdout=out)
        yield Seeded(out.getvalue(), media, anchors)
        transaction.set_rollback(True)
