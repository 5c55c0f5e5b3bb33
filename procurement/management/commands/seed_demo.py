from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core import anchors, clock
from core.models import FiscalYear
from procurement import demo, sme
from procurement.demo.documents import SAMPLE_ONE_IN
from procurement.models import Entity, SmeShareMonth
from procurement.uploads import megabytes


class Command(BaseCommand):
    help = (
        "Creates deterministic, realistic demo data (entities, suppliers with Peru's size mix, "
        "demo accounts per role, annual plans, selection processes in every status). "
        "The same --seed on the same --today gives the same data (when --today is today, "
        "nothing is dated after the moment the seed runs)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--processes", type=int, default=2000, help="Selection processes to create."
        )
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--suppliers", type=int, help="Suppliers (default: max(1500, processes/10))."
        )
        parser.add_argument(
            "--today", type=date.fromisoformat, help="Reference date (default: today)."
        )
        parser.add_argument(
            "--document-files-for-first",
            type=int,
            default=demo.FILES_FOR_FIRST,
            help=(
                "Processes (in creation order) that all get their documents as files; above "
                "that, a fixed 5%% sample does and the rest get none (default %(default)s)."
            ),
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing (but print the accounts) if data exists.",
        )

    def handle(self, *args, processes, seed, suppliers, today, if_empty, **options):
        if processes < 0:
            raise CommandError("--processes must be zero or more.")
        files_for_first = options["document_files_for_first"]
        if files_for_first < 0:
            raise CommandError("--document-files-for-first must be zero or more.")
        today = today or clock.today()
        if not FiscalYear.objects.filter(pk=today.year - 1).exists():
            raise CommandError(
                f"No fiscal-year parameters for {today.year - 1}: "
                "run `manage.py load_reference_data`."
            )
        if Entity.objects.exists():
            if if_empty:
                self.stdout.write("Demo data already present; nothing added.")
                if not SmeShareMonth.objects.exists():  # seeded before the summary existed
                    rows = sme.refresh_summary()
                    self.stdout.write(f"SME share summary filled: {rows} rows.")
                self._print_accounts(demo.existing_accounts(), demo.DEMO_PASSWORD)
                return
            raise CommandError(
                "The database already has entities; seed_demo fills an empty portal."
            )
        started = timezone.now()
        report = demo.seed(
            processes=processes,
            seed=seed,
            today=today,
            suppliers=suppliers,
            document_files_for_first=files_for_first,
        )
        seconds = (timezone.now() - started).total_seconds()
        self.report = report  # for callers that want the figures (bench: seconds per part)
        sizes = ", ".join(f"{k}: {v}" for k, v in report.sizes.items() if v)
        self.stdout.write(
            f"Demo data created in {seconds:.1f} s: {report.entities} entities, "
            f"{report.suppliers} suppliers ({sizes}), {report.plans} annual plans "
            f"({report.plan_versions} published versions, {report.plan_items} items), "
            f"{report.processes} selection processes ({report.process_items} items, "
            f"{report.process_stages} calendar stages, {report.status_changes} status changes, "
            f"{report.criteria} evaluation criteria, {report.committee_members} committee members); "
            f"{report.audit_entries} audit entries chained for that history."
        )
        self.stdout.write("Seconds per part of the seed:")
        for line in report.phases.lines():
            self.stdout.write(line)
        self._print_documents(report.documents, files_for_first)
        self._print_bids(report.bids)
        self._print_awards(report.awards)
        self.stdout.write(f"Subscriptions of the demo supplier users: {report.subscriptions}.")
        self.stdout.write(
            f"Red flags computed: {report.flagged_processes} processes flagged "
            "(auditors: /auditoria/riesgos/)."
        )
        self.stdout.write(
            f"SME share summary: {report.sme_summary_rows} rows (/mype/ and the home headline)."
        )
        self._print_accounts(report.accounts, report.password)
        anchor = anchors.publish_anchor()  # the demo's audit trail, anchored outside the database
        if anchor is not None:
            self.stdout.write(f"Audit chain anchored at entry #{anchor.sequence}.")

    def _print_documents(self, documents, files_for_first):
        self.stdout.write(
            f"Documents: {documents.documents} PDF documents for {documents.processes} published "
            f"processes, {documents.files} files, {megabytes(documents.file_bytes)} of content, "
            f"{megabytes(documents.disk_bytes)} on disk."
        )
        if documents.left_out:
            self.stdout.write(
                f"  {documents.left_out} published processes have no documents: only the "
                f"first {files_for_first:,} processes and a fixed 1 in "
                f"{SAMPLE_ONE_IN} sample above them get files, and a "
                "document row never exists without its file."
            )

    def _print_bids(self, bids):
        self.stdout.write(
            f"Bids: {bids.bids} bids ({bids.versions} versions, {bids.ledger} receipts in the "
            f"ledger, {bids.participants} participants); {bids.openings} completed openings "
            f"({bids.acts} acts as PDF), {bids.sealed_processes} processes with sealed bids; "
            f"{bids.seconds:.1f} s."
        )
        if bids.demo:
            self.stdout.write(self.style.SUCCESS("\nTry the sealed bids (make run):"))
            for identifier, kind, note in bids.demo:
                what = "opening " if kind == "opening" else "bidding "
                self.stdout.write(f"  {what} {identifier:<34} {note}")

    def _print_awards(self, awards):
        self.stdout.write(
            f"Awards: {awards.evaluations} published evaluation tables ({awards.entries} "
            f"entries, {awards.evaluation_pdfs} PDFs of their own), {awards.awards} awards "
            f"({awards.consented} consented) and {awards.deserted_lots} deserted lots, "
            f"{awards.appeals} appeals ({awards.founded} founded), {awards.contracts} contracts "
            f"({awards.amendments} amendments, {awards.supplier_evaluations} after-sales "
            f"evaluations); {awards.seconds:.1f} s."
        )

    def _print_accounts(self, accounts, password):
        if not accounts:
            return
        self.stdout.write(self.style.SUCCESS(f"\nDemo accounts (password for all: {password}):"))
        for email, role, scope in accounts:
            self.stdout.write(f"  {email:<38} {role:<14} {scope}")
