"""A supplier's public record, as /proveedores/<ruc>/ shows it: registry status, size class
with its rule and history, categories and debarments in force. Contact details and declared
sales figures stay private."""

from django.urls import reverse
from rest_framework import serializers

from ..models import Sanction, SizeClassification, Supplier


class SupplierSerializer(serializers.ModelSerializer):
    domicile = serializers.CharField(source="domicile_id")
    size_rule = serializers.CharField(source="size_rule_id", allow_null=True)
    is_sme = serializers.BooleanField()
    page = serializers.SerializerMethodField()

    class Meta:
        model = Supplier
        fields = [
            "ruc",
            "legal_name",
            "trade_name",
            "domicile",
            "registry_valid_until",
            "size_class",
            "size_rule",
            "is_sme",
            "page",
        ]

    def get_page(self, supplier) -> str:
        return reverse("suppliers:supplier_detail", kwargs={"ruc": supplier.ruc})


class ClassificationSerializer(serializers.ModelSerializer):
    rule = serializers.CharField(source="rule_id")
    sales_year = serializers.IntegerField(source="sales_year_id")

    class Meta:
        model = SizeClassification
        fields = ["rule", "sales_year", "size_class", "source", "classified_at"]


class SanctionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Sanction
        fields = ["starts_on", "ends_on", "resolution", "reason"]


class SupplierDetailSerializer(SupplierSerializer):
    categories = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    classifications = ClassificationSerializer(many=True, read_only=True)
    sanctions_in_force = SanctionSerializer(many=True, read_only=True)

    class Meta(SupplierSerializer.Meta):
        fields = [*SupplierSerializer.Meta.fields, "categories", "classifications"]
        fields += ["sanctions_in_force"]
