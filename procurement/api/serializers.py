"""Read-only representations of the public record. Each serializer shows what the matching
public page shows, no more: the querysets they receive come from procurement.queries and the
models' public() managers, never from a bare `objects.all()`."""

from django.urls import reverse
from rest_framework import serializers

from ..models import (
    Award,
    BidOpening,
    Contract,
    ContractAmendment,
    Entity,
    Evaluation,
    EvaluationEntry,
    OpenedBid,
    OpenedBidDocument,
    OpenedBidLine,
    OpenedBidMember,
    PlanItem,
    PlanVersion,
    ProcessDocument,
    ProcessItem,
    ProcessStage,
    ProcurementProcess,
    SupplierEvaluation,
)
from ..ocds.identifiers import ocid


class EntitySerializer(serializers.ModelSerializer):
    sector = serializers.CharField(source="sector_id")
    sector_name = serializers.CharField(source="sector.name")
    ubigeo = serializers.CharField(source="ubigeo_id")

    class Meta:
        model = Entity
        fields = [
            "ruc",
            "name",
            "acronym",
            "sector",
            "sector_name",
            "level",
            "ubigeo",
            "address",
            "website",
        ]


class PlanItemSerializer(serializers.ModelSerializer):
    catalog_code = serializers.CharField(source="catalog_item_id")

    class Meta:
        model = PlanItem
        fields = [
            "reference",
            "object_type",
            "catalog_code",
            "description",
            "quantity",
            "unit",
            "estimated_value",
            "procedure_type",
            "planned_month",
            "sme_reserved",
        ]


class PlanVersionSerializer(serializers.ModelSerializer):
    """A published version of an entity's annual plan with the SME figures snapshot at its
    publication (procurement.sme)."""

    entity = serializers.CharField(source="plan.entity.ruc")
    entity_name = serializers.CharField(source="plan.entity.name")
    fiscal_year = serializers.IntegerField(source="plan.fiscal_year_id")
    page = serializers.SerializerMethodField()

    class Meta:
        model = PlanVersion
        fields = [
            "id",
            "entity",
            "entity_name",
            "fiscal_year",
            "number",
            "reason",
            "approval_date",
            "approval_document",
            "published_at",
            "published_late",
            "total_value",
            "sme_eligible_value",
            "sme_reserved_value",
            "sme_share",
            "sme_min_share",
            "sme_compliant",
            "sme_justification",
            "page",
        ]

    def get_page(self, version) -> str:
        path = reverse(
            "procurement:plan_detail",
            kwargs={"ruc": version.plan.entity.ruc, "year": version.plan.fiscal_year_id},
        )
        return f"{path}?version={version.number}"


class PlanVersionDetailSerializer(PlanVersionSerializer):
    items = PlanItemSerializer(many=True, read_only=True)

    class Meta(PlanVersionSerializer.Meta):
        fields = [*PlanVersionSerializer.Meta.fields, "items"]


class ProcessItemSerializer(serializers.ModelSerializer):
    catalog_code = serializers.CharField(source="catalog_item_id")
    plan_item_reference = serializers.IntegerField(
        source="plan_item.reference", allow_null=True, default=None
    )

    class Meta:
        model = ProcessItem
        fields = [
            "id",
            "catalog_code",
            "description",
            "quantity",
            "unit",
            "estimated_value",
            "plan_item_reference",
        ]


class ProcessStageSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProcessStage
        fields = ["stage", "start", "end", "closing_time"]


class ProcessSerializer(serializers.ModelSerializer):
    entity = serializers.CharField(source="entity.ruc")
    entity_name = serializers.CharField(source="entity.name")
    fiscal_year = serializers.IntegerField(source="fiscal_year_id")
    ocid = serializers.SerializerMethodField()
    page = serializers.SerializerMethodField()

    class Meta:
        model = ProcurementProcess
        fields = [
            "identifier",
            "ocid",
            "source",
            "entity",
            "entity_name",
            "fiscal_year",
            "procedure_type",
            "object_type",
            "description",
            "estimated_value",
            "sme_only",
            "award_by_items",
            "status",
            "published_at",
            "page",
        ]

    def get_ocid(self, process) -> str:
        return ocid(process)

    def get_page(self, process) -> str:
        return reverse("procurement:process_detail", kwargs={"identifier": process.identifier})


class ProcessDetailSerializer(ProcessSerializer):
    items = ProcessItemSerializer(many=True, read_only=True)
    stages = ProcessStageSerializer(many=True, read_only=True)
    delivery_ubigeo = serializers.CharField(source="delivery_ubigeo_id")

    class Meta(ProcessSerializer.Meta):
        fields = [
            *ProcessSerializer.Meta.fields,
            "delivery_place",
            "delivery_ubigeo",
            "outside_plan_reason",
            "direct_cause",
            "answers_published_at",
            "integrated_bases_published_at",
            "items",
            "stages",
        ]


class DocumentSerializer(serializers.ModelSerializer):
    """A published document's metadata and SHA-256; the file is downloaded from `download`,
    which serves it only while it still has that hash."""

    process = serializers.CharField(source="process.identifier")
    download = serializers.SerializerMethodField()

    class Meta:
        model = ProcessDocument
        fields = [
            "id",
            "process",
            "kind",
            "title",
            "filename",
            "content_type",
            "size",
            "sha256",
            "replaces",
            "amendment_reason",
            "published_at",
            "download",
        ]

    def get_download(self, document) -> str:
        return reverse(
            "procurement:process_document",
            kwargs={"identifier": document.process.identifier, "document_id": document.pk},
        )


class OpenedBidMemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = OpenedBidMember
        fields = ["ruc", "legal_name", "share", "is_lead"]


class OpenedBidLineSerializer(serializers.ModelSerializer):
    item = serializers.IntegerField(source="item_id")

    class Meta:
        model = OpenedBidLine
        fields = ["item", "description", "quantity", "unit_price", "line_total"]


class OpenedBidDocumentSerializer(serializers.ModelSerializer):
    """As on the act's page: every document's metadata and hash; a confidential one has no
    public download."""

    download = serializers.SerializerMethodField()

    class Meta:
        model = OpenedBidDocument
        fields = ["title", "filename", "content_type", "size", "sha256", "confidential", "download"]

    def get_download(self, document) -> str | None:
        if document.confidential:
            return None
        return reverse(
            "procurement:opening_document",
            kwargs={
                "identifier": document.opened_bid.opening.process.identifier,
                "document_id": document.pk,
            },
        )


class OpenedBidSerializer(serializers.ModelSerializer):
    members = OpenedBidMemberSerializer(many=True, read_only=True)
    lines = OpenedBidLineSerializer(many=True, read_only=True)
    documents = OpenedBidDocumentSerializer(many=True, read_only=True)

    class Meta:
        model = OpenedBid
        fields = [
            "position",
            "receipt_hash",
            "version",
            "received_at",
            "paper",
            "status",
            "problem",
            "lead_ruc",
            "lead_name",
            "total",
            "members",
            "lines",
            "documents",
        ]


class OpeningActSerializer(serializers.ModelSerializer):
    """The opening act of a process: only completed openings are ever serialized (see
    procurement.api.views.OpeningActViewSet)."""

    process = serializers.CharField(source="process.identifier")
    opened_at = serializers.DateTimeField(source="confirmed_at")
    act_document = serializers.IntegerField(source="act_id", allow_null=True)
    bids = OpenedBidSerializer(many=True, read_only=True)

    class Meta:
        model = BidOpening
        fields = ["process", "opened_at", "observer", "at_evaluation", "act_document", "bids"]


class EvaluationEntrySerializer(serializers.ModelSerializer):
    bidder_ruc = serializers.CharField(source="opened_bid.lead_ruc")
    bidder_name = serializers.CharField(source="opened_bid.lead_name")
    position = serializers.IntegerField(source="opened_bid.position")

    class Meta:
        model = EvaluationEntry
        fields = [
            "position",
            "bidder_ruc",
            "bidder_name",
            "item",
            "price",
            "admissible",
            "inadmissible_reason",
            "technical_score",
            "economic_score",
            "bonus",
            "total",
            "rank",
            "sme",
            "local_sme",
            "size_classes",
        ]


class EvaluationSerializer(serializers.ModelSerializer):
    """A published version of a process's evaluation table (as /procesos/<id>/evaluacion/)."""

    process = serializers.CharField(source="process.identifier")
    document = serializers.IntegerField(source="document_id", allow_null=True)
    entries = EvaluationEntrySerializer(many=True, read_only=True)

    class Meta:
        model = Evaluation
        fields = [
            "id",
            "process",
            "version",
            "reason",
            "bonus_rate",
            "published_at",
            "document",
            "entries",
        ]


class AwardSerializer(serializers.ModelSerializer):
    """The outcome of a lot: granted (with the winner's size classes kept from the award) or
    deserted with its reason."""

    process = serializers.CharField(source="process.identifier")
    supplier_ruc = serializers.CharField(source="supplier.ruc", allow_null=True, default=None)
    supplier_name = serializers.CharField(
        source="supplier.legal_name", allow_null=True, default=None
    )

    class Meta:
        model = Award
        fields = [
            "id",
            "process",
            "item",
            "status",
            "reason",
            "supplier_ruc",
            "supplier_name",
            "amount",
            "winner_sme",
            "winner_size_classes",
            "decided_at",
            "standstill_ends",
            "consented_on",
        ]


class ContractAmendmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContractAmendment
        fields = [
            "kind",
            "amount",
            "percentage",
            "cumulative_percentage",
            "above_limit",
            "reason",
            "signed_on",
        ]


class SupplierEvaluationSerializer(serializers.ModelSerializer):
    class Meta:
        model = SupplierEvaluation
        fields = ["on_time", "quality", "penalties", "comment", "evaluated_at"]


class ContractSerializer(serializers.ModelSerializer):
    """A contract as /contratos/<id>/ shows it: the award it comes from, the size classes
    copied at the award, its amendments, its end and the after-sales evaluation."""

    process = serializers.CharField(source="process.identifier")
    entity_ruc = serializers.CharField(source="entity.ruc")
    supplier_ruc = serializers.CharField(source="supplier.ruc")
    supplier_name = serializers.CharField(source="supplier.legal_name")
    amendments = ContractAmendmentSerializer(many=True, read_only=True)
    evaluation = SupplierEvaluationSerializer(read_only=True, allow_null=True, default=None)

    class Meta:
        model = Contract
        fields = [
            "id",
            "process",
            "award",
            "item",
            "entity_ruc",
            "supplier_ruc",
            "supplier_name",
            "number",
            "signed_on",
            "amount",
            "term_days",
            "winner_sme",
            "size_class",
            "size_classes",
            "guarantee",
            "status",
            "terminated_by",
            "ended_on",
            "end_reason",
            "final_amount",
            "amendments",
            "evaluation",
        ]
