"""The plan loader's and the upload checks' messages write numbers as the active language does
(core.formatting): '20 000' and '2,5 MB' in Spanish, '20,000' and '2.5 MB' in English (issue 8,
item 7). The file itself keeps machine-readable numbers: a decimal point, no grouping."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from procurement.plan_import import COLUMNS, read_plan_file
from procurement.uploads import megabytes

pytestmark = pytest.mark.django_db
HEADER = ",".join(name for name, _field in COLUMNS)
ROW = "bienes,44121701,Bolígrafos,1,unidad,1800.50,COMPRE,3,si"


@pytest.mark.parametrize(("language", "limit"), [("es", "12\xa0000"), ("en", "12,000")])
def test_the_item_limit_is_written_in_the_language(settings, language, limit):
    settings.PLAN_UPLOAD_MAX_ITEMS = 12_000
    content = "\n".join([HEADER, *[ROW] * 12_001]).encode()
    with translation.override(language):
        result = read_plan_file(SimpleUploadedFile("pac.csv", content))
    [error] = result.errors
    assert error.code == "too_many_items"
    assert limit in error.message and "12000" not in error.message


@pytest.mark.parametrize(
    ("language", "sizes"),
    [("es", ["2,5 MB", "20 MB", "1\xa0024 KB"]), ("en", ["2.5 MB", "20 MB", "1,024 KB"])],
)
def test_sizes_are_written_in_the_language(language, sizes):
    with translation.override(language):
        assert [megabytes(2_621_440), megabytes(20 * 1024 * 1024), megabytes(1024 * 1024 - 1)] == (
            sizes
        )
