from django import forms
from django.utils.translation import gettext_lazy as _

from core.models import CatalogItem, FiscalYear

from .models import PlanItem
from .plan_import import max_upload_bytes


class DateInput(forms.DateInput):
    input_type = "date"


class PlanCreateForm(forms.Form):
    entity = forms.TypedChoiceField(label=_("Entity"), coerce=int)
    year = forms.TypedChoiceField(label=_("Fiscal year"), coerce=int)

    def __init__(self, *args, entities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = [(e.pk, f"{e.name} ({e.acronym})") for e in entities]
        self.fields["year"].choices = [
            (y, str(y)) for y in FiscalYear.objects.values_list("year", flat=True)
        ]


class PlanItemForm(forms.ModelForm):
    catalog_code = forms.CharField(
        label=_("Catalog code"), max_length=8, help_text=_("8-digit UNSPSC code, e.g. 44121701.")
    )

    class Meta:
        model = PlanItem
        fields = [
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
        widgets = {"description": forms.TextInput(attrs={"size": 60})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["catalog_code"].initial = self.instance.catalog_item_id

    def clean_catalog_code(self):
        code = "".join(ch for ch in self.cleaned_data["catalog_code"] if ch.isdigit())
        item = CatalogItem.objects.filter(code=code).first()
        if item is None:
            raise forms.ValidationError(_("Code %(code)s is not in the catalog.") % {"code": code})
        return item

    def item_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["catalog_item"] = data.pop("catalog_code")
        return data


class PlanUploadForm(forms.Form):
    REPLACE, APPEND = "replace", "append"
    file = forms.FileField(
        label=_("CSV or XLSX file"),
        error_messages={"empty": _("The file is empty.")},
        help_text=_("Columns as in the template; UTF-8 for CSV; up to 5 MB."),
    )
    mode = forms.ChoiceField(
        label=_("What to do with the draft's current items"),
        choices=[
            (REPLACE, _("Replace them all")),
            (APPEND, _("Keep them and add the file's items")),
        ],
        initial=REPLACE,
        widget=forms.RadioSelect,
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > max_upload_bytes():
            raise forms.ValidationError(
                _("The file is %(size).1f MB; the limit is %(limit).0f MB.")
                % {"size": upload.size / 1024 / 1024, "limit": max_upload_bytes() / 1024 / 1024}
            )
        return upload


class PlanPublishForm(forms.Form):
    approval_date = forms.DateField(label=_("Approval date"), widget=DateInput)
    approval_document = forms.CharField(
        label=_("Approving resolution"), max_length=200, required=False,
        help_text=_("e.g. Resolución de Gerencia General N.° 012-2026"),
    )  # fmt: skip
    reason = forms.CharField(
        label=_("Reason for the modification"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    sme_justification = forms.CharField(
        label=_("Justification if the SME share is below the minimum"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
