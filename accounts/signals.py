"""Signals of account changes, for the apps above accounts: accounts never imports them, they
connect here (in their AppConfig.ready)."""

from django.dispatch import Signal

# Sent with `user=` inside the transaction that confirms the address: a receiver's write
# commits or rolls back with the confirmation, and a receiver's error undoes it.
email_verified = Signal()
