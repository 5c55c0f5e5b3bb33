from django.core.management.base import BaseCommand, CommandError

from core.anchors import verify_against_anchors
from core.audit import verify_chain


class Command(BaseCommand):
    help = (
        "Verifies the audit trail's hash chain and checks it against every signed anchor in "
        "ANCHOR_DIR; exits non-zero naming the first bad entry or anchor."
    )

    def handle(self, *args, **options):
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit chain BROKEN at entry #{report.broken_sequence} (id {report.broken_id}): "
                f"{report.reason}. {report.checked} entries before it are intact."
            )
        anchored = verify_against_anchors()
        if not anchored.ok:
            listed = "\n  ".join(anchored.problems[:20])
            more = len(anchored.problems) - 20
            raise CommandError(
                f"Audit chain does NOT match its anchors ({len(anchored.problems)} problems):\n  "
                f"{listed}" + (f"\n  ... and {more} more" if more > 0 else "")
            )
        if anchored.anchors:
            against = (
                f" and consistent with {anchored.anchors} signed anchors "
                f"(latest at entry #{anchored.latest_sequence})"
            )
        else:
            against = " (no anchors published yet: nothing outside the database to compare with)"
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain OK: {report.checked} entries verified{against}.")
        )
