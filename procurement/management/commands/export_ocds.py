from contextlib import closing
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.files import replaced_on_success
from procurement.ocds import export


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since: {value!r} is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = (
        "Streams every published process's OCDS 1.1 releases as one release package (or JSON "
        "lines with --jsonl, one release per line), in flat memory."
    )

    # A long read-only stream: the system checks (a second or so) would only delay it.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--since", type=_day, help="only releases dated on or after DATE")
        parser.add_argument("--output", help="write to FILE instead of standard output")
        parser.add_argument("--jsonl", action="store_true", help="JSON lines, one release each")
        parser.add_argument(
            "--chunk", type=int, default=export.CHUNK, help="processes read per query batch"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="processes building batches at once (the output is the same)",
        )

    def handle(
        self, *args, since=None, output=None, jsonl=False, chunk=export.CHUNK, workers=1, **options
    ):
        if chunk < 1:
            raise CommandError("--chunk must be at least 1.")
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        if workers > export.max_workers():
            raise CommandError(
                f"--workers: at most {export.max_workers()} on this machine (twice its CPUs; "
                "each worker also holds a database connection)."
            )
        pieces = (export.jsonl if jsonl else export.release_package)(
            since=since, chunk=chunk, workers=workers
        )
        try:
            with closing(pieces):  # the workers stop at once on a failure
                if output is None:
                    for piece in pieces:  # UTF-8 bytes
                        self.stdout.write(piece.decode(), ending="")
                    return
                # Written under a temporary name, renamed when whole: a failed export leaves
                # --output as it was.
                try:
                    with replaced_on_success(Path(output)) as handle:
                        for piece in pieces:
                            handle.write(piece)
                except OSError as error:
                    raise CommandError(f"--output: {error}") from None
        except export.ExportFailed as error:
            raise CommandError(str(error)) from None
