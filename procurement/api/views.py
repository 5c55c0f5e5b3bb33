"""The public, read-only API of procurement (/api/v1/). Every viewset starts from the same
querysets as the public pages (procurement.queries and the models' public() managers), so
the API can show nothing a page would not: no draft, no unpublished plan version, no bid
before its opening."""

from django.db.models import Prefetch
from rest_framework import viewsets

from ..filters import ContractFilter, EntityFilter, PlanFilter, ProcessFilter
from ..models import (
    Award,
    BidOpening,
    Contract,
    Evaluation,
    EvaluationEntry,
    OpenedBid,
    OpenedBidDocument,
    PlanVersion,
    ProcessDocument,
    ProcurementProcess,
)
from ..queries import entities_with_location, plans_in_force, public_processes
from . import serializers
from .filters import (
    AwardFilter,
    DocumentFilter,
    EvaluationFilter,
    OpeningActFilter,
    PlanVersionFilter,
)

# Identifiers and RUCs hold dashes, never a slash.
PATH_SEGMENT = r"[^/]+"


class EntityViewSet(viewsets.ReadOnlyModelViewSet):
    """Public entities (buyers), filtered like /entidades/."""

    queryset = entities_with_location()
    serializer_class = serializers.EntitySerializer
    filterset_class = EntityFilter
    lookup_field = "ruc"
    cursor_ordering = "ruc"


class PlanViewSet(viewsets.ReadOnlyModelViewSet):
    """Annual plans in force: one row per plan, its version in force (as /planes/ lists
    them). Every published version is under plan-versions."""

    queryset = plans_in_force()
    filterset_class = PlanFilter
    cursor_ordering = "-id"

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.PlanVersionDetailSerializer
        return serializers.PlanVersionSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("items")
        return queryset


class PlanVersionViewSet(PlanViewSet):
    """Every published version of every plan (a draft is the entity's business)."""

    queryset = PlanVersion.objects.published().select_related("plan__entity", "plan__fiscal_year")
    filterset_class = PlanVersionFilter


class ProcessViewSet(viewsets.ReadOnlyModelViewSet):
    """Selection processes, filtered with the search page's FilterSet (same parameters as
    /procesos/). The list holds published processes; a draft whose bases were published in
    advance is reachable by its identifier, as its page is."""

    filterset_class = ProcessFilter
    lookup_field = "identifier"
    lookup_value_regex = PATH_SEGMENT
    cursor_ordering = ("-published_at", "-id")

    def get_queryset(self):
        if self.action == "retrieve":
            return (
                ProcurementProcess.objects.public()
                .select_related("entity")
                .prefetch_related("items__plan_item", "stages")
            )
        return public_processes()

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.ProcessDetailSerializer
        return serializers.ProcessSerializer

    def filter_queryset(self, queryset):
        # The search filters apply to the list; a detail is found by its identifier alone.
        if self.action == "retrieve":
            return queryset
        return super().filter_queryset(queryset)


class DocumentViewSet(viewsets.ReadOnlyModelViewSet):
    """Published documents of processes: metadata and SHA-256."""

    queryset = ProcessDocument.objects.public().select_related("process")
    serializer_class = serializers.DocumentSerializer
    filterset_class = DocumentFilter
    cursor_ordering = "-id"


class OpeningActViewSet(viewsets.ReadOnlyModelViewSet):
    """Opening acts, only once completed: bidders, amounts, receipts and document hashes.
    Before its opening a process has no act here (and its bids are sealed anyway)."""

    queryset = (
        BidOpening.objects.filter(
            status=BidOpening.Status.COMPLETED,
            process__in=ProcurementProcess.objects.published(),
        )
        .select_related("process")
        .prefetch_related(
            Prefetch(
                "bids",
                OpenedBid.objects.order_by("position").prefetch_related(
                    "members",
                    "lines",
                    Prefetch("documents", OpenedBidDocument.objects.order_by("id")),
                ),
            )
        )
    )
    serializer_class = serializers.OpeningActSerializer
    filterset_class = OpeningActFilter
    lookup_field = "process__identifier"
    lookup_url_kwarg = "identifier"
    lookup_value_regex = PATH_SEGMENT
    cursor_ordering = "-confirmed_at"


class EvaluationViewSet(viewsets.ReadOnlyModelViewSet):
    """Published versions of evaluation tables (never a draft), with every row."""

    queryset = (
        Evaluation.objects.public()
        .select_related("process")
        .prefetch_related(
            Prefetch(
                "entries",
                EvaluationEntry.objects.select_related("opened_bid").order_by(
                    "item_id", "rank", "id"
                ),
            )
        )
    )
    serializer_class = serializers.EvaluationSerializer
    filterset_class = EvaluationFilter
    cursor_ordering = "-id"


class AwardViewSet(viewsets.ReadOnlyModelViewSet):
    """Live awards (granted, consented or deserted) of published processes."""

    queryset = Award.objects.public().select_related("process", "supplier")
    serializer_class = serializers.AwardSerializer
    filterset_class = AwardFilter
    cursor_ordering = "-id"


class ContractViewSet(viewsets.ReadOnlyModelViewSet):
    """Contracts, as /contratos/ lists them (its FilterSet), with amendments and the
    after-sales evaluation."""

    queryset = Contract.objects.public().select_related("evaluation").prefetch_related("amendments")
    serializer_class = serializers.ContractSerializer
    filterset_class = ContractFilter
    cursor_ordering = "-id"
