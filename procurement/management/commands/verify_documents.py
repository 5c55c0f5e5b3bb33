"""Check every stored document file against its published SHA-256."""

from django.core.management.base import BaseCommand, CommandError

from procurement import document_store


class Command(BaseCommand):
    help = (
        "Checks every stored document file against its SHA-256; exits non-zero naming the "
        "first mismatch. --prune-orphans also removes stored files no document refers to, "
        "and sealed bid files (ciphertext) no sealed document refers to."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--prune-orphans",
            action="store_true",
            help="Remove content-addressed files and sealed bid files that no row refers to.",
        )
        parser.add_argument(
            "--grace-minutes",
            type=int,
            default=60,
            help="Spare orphan files younger than this (their upload may still be committing).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="With --prune-orphans: list, do not delete."
        )

    def handle(self, *args, prune_orphans, grace_minutes, dry_run, **options):
        if prune_orphans:
            removed = document_store.prune_orphans(
                grace_seconds=max(grace_minutes, 0) * 60, dry_run=dry_run
            )
            for name in removed:
                self.stdout.write(f"{'would remove' if dry_run else 'removed'} {name}")
            self.stdout.write(f"{len(removed)} orphan file(s) {'found' if dry_run else 'removed'}.")
            sealed = document_store.prune_sealed_orphans(
                grace_seconds=max(grace_minutes, 0) * 60, dry_run=dry_run
            )
            for name in sealed:
                self.stdout.write(f"{'would remove' if dry_run else 'removed'} {name}")
            self.stdout.write(
                f"{len(sealed)} orphan sealed bid file(s) {'found' if dry_run else 'removed'}."
            )
        problems = []
        checked = 0
        for result in document_store.verify_all():
            if isinstance(result, int):
                checked = result
                continue
            problems.append(result)
            self.stderr.write(
                f"document {result.document_id} ({result.process_identifier}) {result.name}: "
                f"{result.problem}; expected {result.expected}"
                + (f", found {result.actual}" if result.actual else "")
            )
        if problems:
            first = problems[0]
            raise CommandError(
                f"{len(problems)} document(s) fail verification; first: document "
                f"{first.document_id} of {first.process_identifier}, file {first.name} "
                f"({first.problem}; expected SHA-256 {first.expected}"
                + (f", found {first.actual})" if first.actual else ")")
            )
        self.stdout.write(f"Documents OK: {checked} stored file(s) match their SHA-256.")
