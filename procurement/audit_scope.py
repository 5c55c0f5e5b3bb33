"""Which audit trail entries concern an entity, for the auditors' search by entity
(core.filters.ENTITY_SCOPES, registered in ProcurementConfig.ready): entries on the entity
itself, its plans and plan versions, its processes, and every record hanging from one of its
processes (documents, openings, evaluations, awards, appeals, contracts) or from one of its
contracts (amendments, evaluations). Each is a condition on the indexed (object_type,
object_id) pair, so the search never reads the entries' data: the ids are listed in the
query when there are up to INLINE_IDS of a kind (the database then reads only those entries
through the index, however long the trail), else given as a subquery."""

from django.apps import apps
from django.db.models import CharField, ForeignKey, Q
from django.db.models.functions import Cast

from .models import Contract, Entity, PlanVersion, ProcurementPlan, ProcurementProcess

INLINE_IDS = 5000


def _entries_on(model, queryset) -> Q | None:
    """Entries on the `model` rows of `queryset` (None when there are none)."""
    ids = list(queryset.order_by().values_list("pk", flat=True)[: INLINE_IDS + 1])
    if not ids:
        return None
    if len(ids) > INLINE_IDS:
        text_ids = queryset.order_by().annotate(text_id=Cast("pk", CharField())).values("text_id")
        return Q(object_type=_label(model), object_id__in=text_ids)
    return Q(object_type=_label(model), object_id__in=[str(pk) for pk in ids])


def _label(model) -> str:
    return model._meta.label_lower


def _children(parent) -> list:
    """The procurement models with a foreign key to `parent`, and that key's name."""
    found = []
    for model in apps.get_app_config("procurement").get_models():
        for field in model._meta.get_fields():
            if isinstance(field, ForeignKey) and field.related_model is parent:
                found.append((model, field.name))
    return found


def entity_entries(ruc: str) -> Q | None:
    entity = Entity.objects.filter(ruc=ruc).first()
    if entity is None:
        return None
    processes = ProcurementProcess.objects.filter(entity=entity)
    contracts = Contract.objects.filter(process__entity=entity)
    condition = Q(object_type=_label(Entity), object_id=str(entity.pk))
    owned = [
        (ProcurementPlan, ProcurementPlan.objects.filter(entity=entity)),
        (PlanVersion, PlanVersion.objects.filter(plan__entity=entity)),
        (ProcurementProcess, processes),
    ]
    for parent, parents in ((ProcurementProcess, processes), (Contract, contracts)):
        for model, key in _children(parent):
            owned.append(
                (model, model._default_manager.filter(**{f"{key}__in": parents.values("pk")}))
            )
    for model, queryset in owned:
        if (entries := _entries_on(model, queryset)) is not None:
            condition |= entries
    return condition
