"""The version of the reference rows that search forms offer as choices (sectors,
departments): a token in the shared cache (settings.CACHES, Redis in production, so every
process sees the same one), replaced whenever one of those rows is saved or deleted. A select
of those rows whose options were written once in a process (core.widgets.FastWidgetRenderer)
is written again when the token it was written under is no longer the current one: a search
page reads a cache key instead of the table and writes no option.

A change made in bulk (bulk_create, update(), load_reference_data) sends no signal: call
`changed(model)` after it. Without a shared cache (CACHE_URL unset: each process its own
memory) another process learns of a change when its token expires: within TOKEN_SECONDS."""

import uuid

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

TOKEN_SECONDS = 600


def watched_models() -> tuple:
    from .models import Department, Sector

    return (Sector, Department)


def _key(model) -> str:
    return f"reference-version:{model._meta.label_lower}"


def is_watched(model) -> bool:
    return model in watched_models()


def version(model) -> str:
    """The current token of `model`'s rows (a new one when the cache has none)."""
    key = _key(model)
    token = cache.get(key)
    if token is None:
        token = uuid.uuid4().hex
        if not cache.add(key, token, timeout=TOKEN_SECONDS):  # another process set one first
            token = cache.get(key) or token
    return token


def changed(model) -> None:
    """Forget `model`'s token now and again when the transaction commits: a process that read
    the rows between the two (the change not yet visible to it) does not keep what it read."""
    key = _key(model)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def _on_change(sender, **kwargs) -> None:
    changed(sender)


def connect() -> None:
    for model in watched_models():
        post_save.connect(_on_change, sender=model, dispatch_uid=f"version:{_key(model)}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"del:{_key(model)}")
