from django.core.management.base import BaseCommand, CommandError

from core.audit import verify_chain


class Command(BaseCommand):
    help = "Verifies the audit trail's hash chain; exits non-zero naming the first bad entry."

    def handle(self, *args, **options):
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit chain BROKEN at entry #{report.broken_sequence} (id {report.broken_id}): "
                f"{report.reason}. {report.checked} entries before it are intact."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain OK: {report.checked} entries verified."))
