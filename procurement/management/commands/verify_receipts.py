from django.core.management.base import BaseCommand, CommandError

from procurement.receipts import verify_ledger


class Command(BaseCommand):
    help = (
        "Verifies the bid receipt ledger: its hash chain and every receipt's signature; exits "
        "non-zero naming the first bad entry (its position and what is wrong)."
    )

    def handle(self, *args, **options):
        report = verify_ledger()
        if not report.ok:
            raise CommandError(
                f"Receipt ledger BROKEN at position {report.bad_position}: {report.reason} "
                f"({report.checked} entries before it verified)."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Receipt ledger OK: {report.checked} entries, chain and signatures verified."
            )
        )
