from django.core.management.base import BaseCommand, CommandError

from core.filtering import FIRST_YEAR, LAST_YEAR
from procurement import open_data


class Command(BaseCommand):
    help = (
        "Writes the bulk files of /datos/ (gzip CSV and gzip OCDS JSON lines per fiscal year) "
        "into OPEN_DATA_DIR, with their size, rows and SHA-256; run daily by celery beat."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--year", type=int, action="append", help="only this fiscal year (repeatable)"
        )
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="do nothing when files were already built (make run: once, after the seed)",
        )

    def handle(self, *args, year=None, if_missing=False, **options):
        if if_missing and open_data.manifest():
            self.stdout.write(f"Files already built in {open_data.directory()}: nothing to do.")
            return
        for value in year or []:
            if not FIRST_YEAR <= value <= LAST_YEAR:
                raise CommandError(f"--year: {value} is not a fiscal year.")
        files = open_data.build(year)
        if files is None:
            self.stdout.write(
                f"Another build is writing the files in {open_data.directory()}: nothing done."
            )
            return
        for bulk_file in files:
            self.stdout.write(
                f"{bulk_file.name}: {bulk_file.rows} rows, {bulk_file.size} bytes, "
                f"sha256 {bulk_file.sha256}"
            )
        self.stdout.write(f"{len(files)} files in {open_data.directory()}")
