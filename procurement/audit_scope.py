"""Which audit trail entries concern an entity, for the auditors' search by entity
(core.filters.ENTITY_SCOPES, registered in ProcurementConfig.ready): entries on the entity
itself, its plans and plan versions, its processes, and every record hanging from one of its
processes (documents, openings, evaluations, awards, appeals, contracts) or from one of its
contracts (amendments, evaluations). Each is a condition on the indexed (object_type,
object_id) pair with the ids as a subquery, so the search never reads the entries' data."""

from django.apps import apps
from django.db.models import CharField, ForeignKey, Q
from django.db.models.functions import Cast

from .models import Contract, Entity, PlanVersion, ProcurementPlan, ProcurementProcess


def _ids(queryset):
    return queryset.order_by().annotate(text_id=Cast("pk", CharField())).values("text_id")


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
    for model, queryset in (
        (ProcurementPlan, ProcurementPlan.objects.filter(entity=entity)),
        (PlanVersion, PlanVersion.objects.filter(plan__entity=entity)),
        (ProcurementProcess, processes),
    ):
        condition |= Q(object_type=_label(model), object_id__in=_ids(queryset))
    for parent, owned in ((ProcurementProcess, processes), (Contract, contracts)):
        for model, key in _children(parent):
            rows = model._default_manager.filter(**{f"{key}__in": owned.values("pk")})
            condition |= Q(object_type=_label(model), object_id__in=_ids(rows))
    return condition
