from django.core.management.base import BaseCommand

from procurement.sealing import rotate_wrapped_keys


class Command(BaseCommand):
    help = (
        "Rewraps every process's bid data key under the current BID_MASTER_KEY. Set the new key "
        "in BID_MASTER_KEY and the old one in BID_MASTER_KEY_PREVIOUS, run this, then remove "
        "BID_MASTER_KEY_PREVIOUS. Bid content is not re-encrypted (the data keys do not change)."
    )

    def handle(self, *args, **options):
        count = rotate_wrapped_keys()
        self.stdout.write(
            self.style.SUCCESS(f"{count} process keys rewrapped under the current BID_MASTER_KEY.")
        )
