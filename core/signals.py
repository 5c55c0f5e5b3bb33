"""Signals of reference-data changes, for the apps above core: core never imports them, they
connect here (in their AppConfig.ready)."""

from django.dispatch import Signal

# Sent inside the transaction that changed which catalog codes SMEs can supply
# (CatalogItem.sme_suppliable), at most once per admin request: the SME share's eligible
# base moved for every contract under those codes.
sme_suppliable_changed = Signal()
