from django.core.management.base import BaseCommand, CommandError

from core.models import AuditVerification
from core.verification import run_verification


class Command(BaseCommand):
    help = (
        "Verifies the audit trail's hash chain and checks it against every signed anchor in "
        "ANCHOR_DIR; records the result (shown on /auditoria/registro/) and exits non-zero "
        "naming the first bad entry or anchor."
    )

    def handle(self, *args, **options):
        run = run_verification(source=AuditVerification.Source.COMMAND)
        if run.broken_sequence is not None:
            raise CommandError(f"Audit chain BROKEN at {run.problems}.")
        if not run.ok:
            problems = run.problems.splitlines()
            listed = "\n  ".join(problems)
            raise CommandError(
                f"Audit chain does NOT match its anchors ({len(problems)} problems):\n  {listed}"
            )
        if run.anchors:
            against = (
                f" and consistent with {run.anchors} signed anchors "
                f"(latest at entry #{run.latest_anchor_sequence})"
            )
        else:
            against = " (no anchors published yet: nothing outside the database to compare with)"
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain OK: {run.checked} entries verified{against}.")
        )
