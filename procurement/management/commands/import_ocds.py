from django.core.management.base import BaseCommand, CommandError

from procurement import red_flags, sme
from procurement.ocds import importer


class Command(BaseCommand):
    help = (
        "Imports OCDS 1.1 release or record packages (JSON, or JSON lines with --jsonl or a "
        ".jsonl name), e.g. Peru's OECE (SEACE v3) data. Each release is loaded in its own "
        "transaction, idempotent by ocid + release id, each process's releases in the order "
        "they happened (by date), whatever their order in the files. The files are read "
        "twice, incrementally (a package's releases one by one, JSON lines line by line), "
        "never whole. A release with a bad "
        "RUC, an unknown code or a schema error is reported with its line and not loaded."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--jsonl", action="store_true", help="JSON lines")

    def handle(self, *args, files, jsonl=False, **options):
        def read():
            """Every release of the files, streamed (read twice, never held whole)."""
            for name in files:
                try:
                    with open(name, encoding="utf-8") as stream:
                        for source in importer.iter_package(
                            stream, jsonl=jsonl or name.endswith(".jsonl")
                        ):
                            source.file = name
                            yield source
                except (OSError, UnicodeDecodeError) as error:
                    raise CommandError(f"{name}: {error}") from None
                except importer.UnreadablePackage as error:
                    raise CommandError(f"{name}, {error}") from None

        loaded = unchanged = refused = 0
        summary_years: set[tuple[int, int]] = set()
        red_flag_scopes: set[tuple[int, int]] = set()
        # Each process's releases in the order they happened, whatever the files' order.
        # The first reading of the files checks every one (bad JSON stops the import before
        # anything is loaded); the second loads.
        signer = importer.RunSigner()  # the import's account, looked up once a run
        for source in importer.streamed_loading_order(read):
            try:
                outcome = importer.load_release(
                    source, refresh_summary=False, refresh_red_flags=False, signer=signer
                )
            except importer.ReleaseRefused as error:
                signer.forget()  # the release may have made it, and that was rolled back
                refused += 1
                self.stderr.write(f"{source.file}, {source.label}: not loaded: {error}")
                continue
            summary_years |= outcome.summary_years
            red_flag_scopes |= outcome.red_flag_scopes
            if outcome.loaded:
                loaded += 1
            else:
                unchanged += 1
            for note in outcome.notes:
                self.stdout.write(f"{source.file}, {source.label}: {note}")
        # Once per entity and year, however many of its releases were loaded.
        for entity_id, year in sorted(summary_years):
            sme.refresh_summary(entity_id=entity_id, year=year)
        # The red flags of each entity's year the releases changed, once too.
        for entity_id, fiscal_year_id in sorted(red_flag_scopes):
            red_flags.refresh_entity_year(entity_id, fiscal_year_id)
        self.stdout.write(
            f"{loaded} releases loaded, {unchanged} already imported, {refused} refused."
        )
        if refused:
            raise CommandError(f"{refused} releases refused (see above); the others are loaded.")
