import re
from datetime import date
from decimal import Decimal

from django import forms
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from core.codelists import DirectCause, ObjectType, ProcedureType, Stage, Unit
from core.formatting import money, number, quantity
from core.idempotency import FormTokenField, IdempotentForm
from core.models import CatalogItem, Department, FiscalYear
from core.places import resolve_district
from core.widgets import FAST_RENDERER
from suppliers.models import Supplier

from .calendar_rules import DEADLINE_STAGES
from .models import CriterionKind, PlanItem, ProcessDocument, Question
from .models.notes import NOTE_MAX_LENGTH
from .rules import MAX_PROCESS_VALUE, date_window
from .uploads import document_limits, plan_limits, plan_max_items

# Free text kept on record (reasons, justifications): generous, but bounded.
REASON_MAX_LENGTH = 4000


class TimeInput(forms.TimeInput):
    """An <input type="time">, with the ISO value browsers require whatever the language."""

    input_type = "time"

    def __init__(self, attrs=None, format=None):  # noqa: A002 (Django's own argument name)
        super().__init__(attrs=attrs, format=format or "%H:%M")


class DateInput(forms.DateInput):
    """An <input type="date">: browsers accept only ISO values in it, whatever the page's
    language, so the format is fixed (a localized "26/11/2026" shows as an empty field)."""

    input_type = "date"

    def __init__(self, attrs=None, format=None):  # noqa: A002 (Django's own argument name)
        super().__init__(attrs=attrs, format=format or "%Y-%m-%d")


class PlanCreateForm(forms.Form):
    entity = forms.TypedChoiceField(label=_("Entity"), coerce=int)
    year = forms.TypedChoiceField(label=_("Fiscal year"), coerce=int)

    def __init__(self, *args, entities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = [(e.pk, f"{e.name} ({e.acronym})") for e in entities]
        self.fields["year"].choices = [
            (y, str(y)) for y in FiscalYear.objects.values_list("year", flat=True)
        ]


class CatalogCodeField(forms.CharField):
    """An 8-digit UNSPSC code typed by a person; cleans to the catalog item."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Catalog code"))
        kwargs.setdefault("help_text", _("8-digit UNSPSC code, e.g. 44121701."))
        super().__init__(max_length=12, **kwargs)  # room for separators: 4412-1701

    def clean(self, value):
        code = "".join(ch for ch in super().clean(value) if ch.isdigit())
        item = CatalogItem.objects.filter(code=code).first()
        if item is None:
            raise forms.ValidationError(_("Code %(code)s is not in the catalog.") % {"code": code})
        return item


class PlanItemForm(forms.ModelForm):
    catalog_code = CatalogCodeField()
    form_token = FormTokenField()

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

    def item_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("form_token", None)
        data["catalog_item"] = data.pop("catalog_code")
        return data


class PlanUploadForm(forms.Form):
    REPLACE, APPEND = "replace", "append"
    file = forms.FileField(
        label=_("CSV or XLSX file"),
        error_messages={"empty": _("The file is empty.")},
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The limits are checked once, by plan_import.read_plan_file; here they are only said.
        self.fields["file"].help_text = _(
            "Columns as in the template; UTF-8 for CSV; up to %(limit)s and %(items)s items."
        ) % {"limit": plan_limits().max_megabytes, "items": number(plan_max_items())}


class PlanPublishForm(forms.Form):
    approval_date = forms.DateField(label=_("Approval date"), widget=DateInput)
    approval_document = forms.CharField(
        label=_("Approving resolution"),
        max_length=200,
        required=False,
        help_text=_("e.g. Resolución de Gerencia General N.° 012-2026"),
    )
    reason = forms.CharField(
        label=_("Reason for the modification"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    sme_justification = forms.CharField(
        label=_("Justification if the SME share is below the minimum"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class IdsChoiceField(forms.ModelMultipleChoiceField):
    """Rows chosen by id: a value that is not an id the database can hold is an invalid
    choice (on SQLite a 20-digit id in `pk__in` would fail inside the query)."""

    def _check_values(self, value):
        for pk in value:
            if not (isinstance(pk, int) or (str(pk).isdigit() and len(str(pk)) <= 18)):
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": str(pk)[:40]},
                )
        return super()._check_values(value)


class ProcessCreateForm(IdempotentForm):
    """A process from items of the plan in force (the items are chosen as checkboxes)."""

    procedure_type = forms.ChoiceField(label=_("Procedure type"), choices=ProcedureType.choices)
    direct_cause = forms.ChoiceField(
        label=_("Legal cause (direct contracting only)"),
        choices=[("", "—"), *DirectCause.choices],
        required=False,
    )
    description = forms.CharField(label=_("Description"), max_length=500)
    delivery_place = forms.CharField(label=_("Place of delivery"), max_length=255)
    delivery_department = forms.ModelChoiceField(
        label=_("Department of delivery"),
        queryset=Department.objects.all(),
        empty_label=_("Choose the department"),
    )
    delivery_district = forms.CharField(label=_("District of delivery"), max_length=120)
    plan_items = IdsChoiceField(
        label=_("Plan items"), queryset=PlanItem.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, plan_items, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan_items"].queryset = plan_items
        self.fields["plan_items"].label_from_instance = lambda item: (
            f"{item.reference}. {item.description} — {money(item.estimated_value)}"
            + (" (MYPE)" if item.sme_reserved else "")
        )

    def process_fields(self) -> dict:
        """The fields both ways of creating a process pass to services.create_process."""
        data = self.cleaned_data
        return {
            name: data[name]
            for name in (
                "procedure_type",
                "direct_cause",
                "description",
                "delivery_place",
                "delivery_ubigeo",
            )
        }

    def clean(self):
        cleaned = super().clean()
        chosen = cleaned.get("plan_items")
        if chosen and sum(item.estimated_value for item in chosen) > MAX_PROCESS_VALUE:
            self.add_error(
                "plan_items",
                forms.ValidationError(
                    _("Together these items are worth more than one process can record."),
                    code="value_too_large",
                ),
            )
        if cleaned.get("delivery_department") and cleaned.get("delivery_district"):
            try:
                cleaned["delivery_ubigeo"] = resolve_district(
                    cleaned["delivery_department"], cleaned["delivery_district"]
                )
            except forms.ValidationError as error:
                self.add_error("delivery_district", error)
        return cleaned


class ProcessCalendarForm(forms.Form):
    """One start and end date per stage of the procedure type."""

    reason = forms.CharField(
        label=_("Reason for the amendment (after the call)"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self,
        *args,
        stages: list[str],
        initial_dates: dict,
        initial_times=None,
        fiscal_year: int | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        initial_times = initial_times or {}
        labels = dict(Stage.choices)
        self.stage_names = stages
        self.window = date_window(fiscal_year) if fiscal_year else None
        for stage in stages:
            start, end = initial_dates.get(stage, (None, None))
            self.fields[f"{stage}_start"] = forms.DateField(
                label=_("%(stage)s: start") % {"stage": labels[stage]},
                widget=DateInput,
                initial=start,
            )
            self.fields[f"{stage}_end"] = forms.DateField(
                label=_("%(stage)s: end") % {"stage": labels[stage]}, widget=DateInput, initial=end
            )
            if stage in DEADLINE_STAGES:
                self.fields[f"{stage}_closes"] = forms.TimeField(
                    label=_("%(stage)s: closes at (Lima time)") % {"stage": labels[stage]},
                    help_text=_("Empty: at the end of the day."),
                    widget=TimeInput,
                    required=False,
                    initial=initial_times.get(stage),
                )

    def clean(self):
        cleaned = super().clean()
        if self.window:
            earliest, latest = self.window
            for name in self.fields:
                value = cleaned.get(name)
                if isinstance(value, date) and not earliest <= value <= latest:
                    self.add_error(
                        name,
                        forms.ValidationError(
                            _("Choose a date from %(earliest)s to %(latest)s.")
                            % {
                                "earliest": date_format(earliest, "SHORT_DATE_FORMAT"),
                                "latest": date_format(latest, "SHORT_DATE_FORMAT"),
                            },
                            code="date_out_of_window",
                        ),
                    )
        return cleaned

    def dates(self) -> dict:
        return {
            s: (self.cleaned_data[f"{s}_start"], self.cleaned_data[f"{s}_end"])
            for s in self.stage_names
        }

    def closing_times(self) -> dict:
        return {
            s: self.cleaned_data.get(f"{s}_closes")
            for s in self.stage_names
            if s in DEADLINE_STAGES
        }


class ProcessTransitionForm(forms.Form):
    action = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # Which stages are allowed depends on the process and the day: the service says why not.
    return_stage = forms.CharField(label=_("Stage it returns to"), required=False, max_length=20)

    def clean(self):
        data = super().clean()
        stage = data.get("return_stage")
        if stage and stage not in Stage.values:
            self.add_error("return_stage", _("Choose one of the process's stages."))
        elif stage and data.get("action") != "annul":
            self.add_error("return_stage", _("Only a void process returns to a stage."))
        return data


class ProcessDocumentForm(IdempotentForm):
    # Answers and integrated bases are published by their own actions (with their rules);
    # here they can only be amended by a replacement.
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (value, label)
            for value, label in ProcessDocument.Kind.choices
            if value not in ("answers", "integrated_bases")
        ],
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    file = forms.FileField(
        label=_("File"),
        error_messages={"empty": _("The file is empty.")},
    )
    replaces = forms.ModelChoiceField(
        label=_("Replaces (amendment)"),
        queryset=ProcessDocument.objects.none(),
        required=False,
        empty_label=_("— none: a new document —"),
    )
    reason = forms.CharField(
        label=_("Reason for the amendment"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, process, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["replaces"].queryset = process.documents.filter(replaced_by__isnull=True)
        # The limits are checked once, by documents.check_document; here they are only said.
        self.fields["file"].help_text = _(
            "PDF, DOCX, XLSX or ZIP, up to %(limit)s. Checked by its content."
        ) % {"limit": document_limits().max_megabytes}


class ProcessOutsidePlanForm(ProcessCreateForm):
    """A process outside the annual plan: one item typed in, and the reason on record."""

    entity = forms.TypedChoiceField(label=_("Entity"), coerce=int)
    year = forms.TypedChoiceField(label=_("Fiscal year"), coerce=int)
    outside_plan_reason = forms.CharField(
        label=_("Reason for contracting outside the plan"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    object_type = forms.ChoiceField(label=_("Object"), choices=ObjectType.choices)
    catalog_code = CatalogCodeField()
    item_description = forms.CharField(label=_("Item description"), max_length=500)
    quantity = forms.DecimalField(
        label=_("Quantity"), min_value=Decimal("0.01"), max_digits=14, decimal_places=2
    )
    unit = forms.ChoiceField(label=_("Unit"), choices=Unit.choices)
    estimated_value = forms.DecimalField(
        label=_("Estimated value (S/)"), min_value=Decimal("0.01"), max_digits=16, decimal_places=2
    )

    def __init__(self, *args, entities, **kwargs):
        super().__init__(*args, plan_items=PlanItem.objects.none(), **kwargs)
        del self.fields["plan_items"]
        self.fields["entity"].choices = [(e.pk, f"{e.name} ({e.acronym})") for e in entities]
        self.fields["year"].choices = [
            (y, str(y)) for y in FiscalYear.objects.values_list("year", flat=True)
        ]
        self.order_fields(
            ["entity", "year", "outside_plan_reason", "procedure_type", "description"]
        )

    def item(self) -> dict:
        data = self.cleaned_data
        return {
            "object_type": data["object_type"],
            "catalog_item": data["catalog_code"],
            "description": data["item_description"],
            "quantity": data["quantity"],
            "unit": data["unit"],
            "estimated_value": data["estimated_value"],
        }


class ConfirmForm(forms.Form):
    """A destructive action asks once more on its own page (works without JavaScript)."""

    confirm = forms.BooleanField(required=True, widget=forms.HiddenInput, initial=True)


# --- Participation (supplier and committee actions on the public process page) --------------


class ParticipantRegistrationForm(IdempotentForm):
    fee_receipt = forms.CharField(
        label=_("Fee receipt number (if the process charges one)"), max_length=40, required=False
    )


class QuestionForm(IdempotentForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=Question.Kind.choices, required=False)
    text = forms.CharField(
        label=_("Your question or observation"), max_length=5000, widget=forms.Textarea
    )

    def clean_kind(self):
        return self.cleaned_data["kind"] or Question.Kind.QUESTION


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("Answer"), max_length=20000, widget=forms.Textarea)


class CommitteeForm(forms.Form):
    """The committee of a process, chosen among the entity's staff (the service checks the
    rules: at least two, staff of the entity, before the call)."""

    members = forms.ModelMultipleChoiceField(
        label=_("Members"), queryset=None, widget=forms.CheckboxSelectMultiple, required=False
    )
    president = forms.ModelChoiceField(
        label=_("President"),
        queryset=None,
        required=False,
        empty_label=_("Choose the president"),
    )

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = staff
        self.fields["president"].queryset = staff
        self.fields["members"].label_from_instance = lambda user: user.get_full_name()
        self.fields["president"].label_from_instance = lambda user: user.get_full_name()


# --- Evaluation criteria and lots ---------------------------------------------------------


class CriteriaForm(forms.Form):
    """Whether the process is called as a whole or by items, and (after the call) the reason
    for the amendment. The rows of the table are CriterionFormSet; the rule is the
    service's (procurement.services.criteria.criteria_problem)."""

    WHOLE, BY_ITEMS = "whole", "items"

    award = forms.ChoiceField(
        label=_("Called"),
        choices=[
            (WHOLE, _("As a whole (package): one award for every item")),
            (BY_ITEMS, _("By items: each item is a lot awarded separately")),
        ],
        widget=forms.RadioSelect,
        initial=WHOLE,
    )
    reason = forms.CharField(
        label=_("Reason for the amendment"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
    )

    def __init__(self, *args, amendment: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if amendment:
            self.fields["reason"].required = True
        else:
            del self.fields["reason"]

    def award_by_items(self) -> bool:
        return self.cleaned_data["award"] == self.BY_ITEMS


class CriterionRowForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[("", "—"), *CriterionKind.choices],
        required=False,
    )
    name = forms.CharField(label=_("Criterion"), max_length=200, required=False)
    weight = forms.DecimalField(
        label=_("Weight (%)"),
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal(100),
        required=False,
    )

    def clean(self):
        data = super().clean()
        filled = [name for name in ("kind", "name", "weight") if data.get(name) not in (None, "")]
        if filled and len(filled) < 3 and not self.errors:
            raise forms.ValidationError(
                _("Fill in the kind, the name and the weight of the criterion, or leave it empty.")
            )
        return data

    def criterion(self):
        data = self.cleaned_data
        if not data.get("name") and not data.get("kind") and data.get("weight") is None:
            return None
        return (data["kind"], data["name"].strip(), data["weight"])


MAXIMUM_CRITERIA_ROWS = 20


class BaseCriterionFormSet(forms.BaseFormSet):
    def clean(self):
        """The page always sends as many initial rows as it showed, never more than all."""
        super().clean()
        initial = self.management_form.cleaned_data.get("INITIAL_FORMS", 0)
        if not 0 <= initial <= self.total_form_count():
            raise forms.ValidationError(
                _("This form is damaged: reload the page."), code="stale_form"
            )


CriterionFormSet = forms.formset_factory(
    CriterionRowForm,
    formset=BaseCriterionFormSet,
    extra=3,
    max_num=MAXIMUM_CRITERIA_ROWS,
    validate_max=True,
    absolute_max=MAXIMUM_CRITERIA_ROWS + 5,
)


class OpeningForm(IdempotentForm):
    """Start or confirm the opening of bids (procurement.services.opening)."""

    action = forms.ChoiceField(
        choices=[("start", _("Start the opening")), ("confirm", _("Confirm the opening"))],
        widget=forms.HiddenInput,
    )
    observer = forms.CharField(
        label=_("Observer or notary present (optional)"),
        max_length=200,
        required=False,
        help_text=_("Named in the act as the entity names them."),
    )


# --- Sealed bids (the bidder's pages and the desk's paper bids) ------------------------------

# Room for a price typed with separators; priced_items (services.bids) judges the value.
PRICE_MAX_LENGTH = 30
MAX_CONSORTIUM_PARTNERS = 4
MAX_PAPER_FILES = 10


def price_field_name(item_id: int) -> str:
    return f"price_{item_id}"


_PRICE_TEXT = re.compile(r"[0-9]{1,20}(\.[0-9]{1,10})?")


def _price_text(value: str) -> str:
    """A price as typed, for priced_items: spaces removed, a decimal comma read as a point
    (when there is no point: "1250,50"); anything else is judged by the service."""
    value = "".join((value or "").split())
    if "," in value and "." not in value:
        value = value.replace(",", ".")
    return value


class PricesMixin:
    """One unit-price field per item of the process (priced_items judges the values)."""

    def add_price_fields(self, process) -> None:
        self.items = list(process.items.order_by("pk"))
        for item in self.items:
            self.fields[price_field_name(item.pk)] = forms.CharField(
                label=_("Unit price of %(item)s (S/)") % {"item": item.description},
                max_length=PRICE_MAX_LENGTH,
                required=False,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 14}),
            )

    def price_rows(self):
        return [(item, self[price_field_name(item.pk)]) for item in self.items]

    def clean_prices(self) -> None:
        """Only the way a price is written is checked here (digits, one decimal point or
        comma); its value is judged by priced_items."""
        for item in self.items:
            name = price_field_name(item.pk)
            text = _price_text(self.cleaned_data.get(name, ""))
            if text and not _PRICE_TEXT.fullmatch(text):
                self.add_error(
                    name,
                    forms.ValidationError(
                        _("Write the price with digits and a decimal point, e.g. 1250.50."),
                        code="price_format",
                    ),
                )

    def prices(self) -> dict[int, str]:
        return {
            item.pk: _price_text(self.cleaned_data.get(price_field_name(item.pk), ""))
            for item in self.items
        }


class RucField(forms.CharField):
    """A supplier's RUC (11 digits): cleans to the registered supplier."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        ruc = "".join(value.split())
        if not (len(ruc) == 11 and ruc.isascii() and ruc.isdigit()):
            raise forms.ValidationError(_("A RUC has 11 digits."), code="ruc")
        supplier = Supplier.objects.filter(ruc=ruc).first()
        if supplier is None:
            raise forms.ValidationError(
                _("No supplier with RUC %(ruc)s is registered.") % {"ruc": ruc}, code="ruc"
            )
        return supplier


def _share_field(label) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal("100"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 7}),
    )


class BidOfferForm(PricesMixin, IdempotentForm):
    """The economic offer, the documents sent and the consortium (optional) of a bid. The
    prices and the consortium's rules are judged by the service (priced_items, bid_refusal),
    here only read. Its inputs are written by the fast renderer (the same markup)."""

    default_renderer = FAST_RENDERER

    documents = forms.MultipleChoiceField(
        label=_("Documents of the technical envelope"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    lead_share = _share_field(_("Your company's share (%)"))

    def __init__(self, *args, process, documents, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_price_fields(process)
        self.fields["documents"].choices = documents
        if not self.is_bound:
            self.fields["documents"].initial = [value for value, _label in documents]
        self.fields["lead_share"].help_text = _(
            "Only for a consortium: your company is its lead member."
        )
        for n in range(1, MAX_CONSORTIUM_PARTNERS + 1):
            self.fields[f"member_ruc_{n}"] = RucField(
                label=_("RUC of consortium member %(n)s") % {"n": n}, required=False
            )
            self.fields[f"member_share_{n}"] = _share_field(
                _("Share of consortium member %(n)s (%%)") % {"n": n}
            )

    def member_rows(self):
        return [
            (n, self[f"member_ruc_{n}"], self[f"member_share_{n}"])
            for n in range(1, MAX_CONSORTIUM_PARTNERS + 1)
        ]

    def clean(self):
        data = super().clean()
        self.clean_prices()
        partners = []
        for n in range(1, MAX_CONSORTIUM_PARTNERS + 1):
            supplier, share = data.get(f"member_ruc_{n}"), data.get(f"member_share_{n}")
            if supplier is None and share is None:
                continue
            if f"member_ruc_{n}" in self.errors or f"member_share_{n}" in self.errors:
                continue
            if supplier is None:
                self.add_error(f"member_ruc_{n}", _("Give the member's RUC."))
            elif share is None:
                self.add_error(f"member_share_{n}", _("Give the member's share."))
            else:
                partners.append((supplier, share))
        if partners and data.get("lead_share") is None and "lead_share" not in self.errors:
            self.add_error("lead_share", _("Give your company's share in the consortium."))
        data["partners"] = partners
        return data

    def members(self, supplier):
        """The consortium as submit_bid takes it, or None when the supplier bids alone."""
        partners = self.cleaned_data.get("partners")
        if not partners:
            return None
        return [(supplier, self.cleaned_data["lead_share"], True)] + [
            (partner, share, False) for partner, share in partners
        ]


class ConsortiumCheckForm(forms.Form):
    """The RUCs of the companies one of the user's suppliers (the lead) would take as
    consortium members: the process page's "can I take part?" judges each of them. A GET
    form: it changes nothing."""

    consorcio = forms.CharField(
        label=_("RUCs of the other consortium members"),
        max_length=200,
        widget=forms.TextInput(attrs={"size": 52, "autocomplete": "off"}),
    )

    def __init__(self, *args, suppliers, **kwargs):
        super().__init__(*args, **kwargs)
        self.suppliers = {str(s.pk): s for s in suppliers}
        self.fields["consorcio"].help_text = _("Up to %(n)s, separated by spaces or commas.") % {
            "n": MAX_CONSORTIUM_PARTNERS
        }
        if len(self.suppliers) > 1:
            self.fields["lider"] = forms.ChoiceField(
                label=_("Lead member"),
                choices=[(pk, f"{s.legal_name} ({s.ruc})") for pk, s in self.suppliers.items()],
            )

    def clean_consorcio(self):
        rucs = self.cleaned_data["consorcio"].replace(",", " ").split()
        if len(rucs) > MAX_CONSORTIUM_PARTNERS:
            raise forms.ValidationError(
                _("A consortium here has at most %(n)s members besides the lead.")
                % {"n": MAX_CONSORTIUM_PARTNERS}
            )
        members, errors = [], []
        for ruc in dict.fromkeys(rucs):
            try:
                members.append(RucField().clean(ruc))
            except forms.ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise forms.ValidationError(errors)
        return members

    def clean(self):
        data = super().clean()
        lead = self.suppliers.get(data.get("lider")) if "lider" in self.fields else None
        if lead is None and len(self.suppliers) == 1:
            lead = next(iter(self.suppliers.values()))
        data["lead"] = lead
        if lead is not None and any(m.pk == lead.pk for m in data.get("consorcio") or []):
            self.add_error(
                "consorcio",
                _("%(ruc)s is the lead: name only the other members.") % {"ruc": lead.ruc},
            )
        return data


class ConsortiumConsentForm(forms.Form):
    """A member's confirmation that it takes part in the consortium led by the supplier with
    this RUC (the service, give_consortium_consent, judges the rest)."""

    default_renderer = FAST_RENDERER

    lead = RucField(label=_("RUC of the consortium's lead"))
    confirm = forms.BooleanField(
        label=_("We take part in the consortium led by this supplier in this process."),
        help_text=_(
            "The lead can then name your company in its bid. While you are a member you "
            "cannot bid on your own."
        ),
    )


class BidDocumentForm(IdempotentForm):
    default_renderer = FAST_RENDERER

    title = forms.CharField(label=_("Title"), max_length=200)
    file = forms.FileField(label=_("File"), error_messages={"empty": _("The file is empty.")})
    confidential = forms.BooleanField(
        label=_("Confidential by law"),
        required=False,
        help_text=_(
            "Mark it only when a law protects its content (e.g. trade secrets): after the "
            "opening it is not published."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The limits are checked once, by documents.check_document; here they are only said.
        self.fields["file"].help_text = _(
            "PDF, DOCX, XLSX or ZIP, up to %(limit)s. Encrypted as it arrives: nobody can "
            "read it before the opening."
        ) % {"limit": document_limits().max_megabytes}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern), at most MAX_PAPER_FILES."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > MAX_PAPER_FILES:
            raise forms.ValidationError(
                _("Attach at most %(max)s files.") % {"max": MAX_PAPER_FILES}, code="too_many"
            )
        if not files:
            return super().clean(None, initial)  # "required" says so
        single = super().clean
        return [single(upload, initial) for upload in files]


class PaperBidForm(PricesMixin, IdempotentForm):
    """A bid received on paper at the entity's desk, typed in by its staff."""

    ruc = RucField(label=_("RUC of the bidder"))
    file = MultipleFileField(
        label=_("Scanned documents"), error_messages={"empty": _("The file is empty.")}
    )

    def __init__(self, *args, process, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_price_fields(process)
        self.fields["file"].help_text = _(
            "PDF, DOCX, XLSX or ZIP, up to %(limit)s each, at most %(max)s files."
        ) % {"limit": document_limits().max_megabytes, "max": MAX_PAPER_FILES}

    def clean(self):
        data = super().clean()
        self.clean_prices()
        return data


# --- Evaluation and award (procurement.services.evaluation, .awards) -------------------------

REASON_MAX_LENGTH = 2000
SCORE_MAX_LENGTH = 20


def score_field_name(criterion_id: int) -> str:
    return f"score_{criterion_id}"


class EvaluationActionForm(forms.Form):
    """Start a new version of the table (with its reason after the first) or publish it."""

    action = forms.ChoiceField(
        choices=[("start", _("Start the evaluation table")), ("publish", _("Publish the table"))],
        widget=forms.HiddenInput,
    )
    reason = forms.CharField(
        label=_("Reason for a new version"),
        max_length=REASON_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class EvaluationEntryForm(forms.Form):
    """One row of the draft table: admissible or not, the reason, the technical scores. The
    values are judged by procurement.services.evaluation.record_entry."""

    admissible = forms.ChoiceField(
        label=_("Admissible"),
        choices=[("", _("Not judged yet")), ("yes", _("Admissible")), ("no", _("Not admissible"))],
        required=False,
    )
    reason = forms.CharField(
        label=_("Why it is not admissible"),
        max_length=REASON_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, criteria=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        for criterion in self.criteria:
            self.fields[score_field_name(criterion.pk)] = forms.CharField(
                label=_("%(criterion)s (0 to %(weight)s)")
                % {"criterion": criterion.name, "weight": quantity(criterion.weight)},
                max_length=SCORE_MAX_LENGTH,
                required=False,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6}),
            )

    def scores(self) -> dict:
        return {
            c.pk: self.cleaned_data.get(score_field_name(c.pk), "")
            for c in self.criteria
            if self.cleaned_data.get(score_field_name(c.pk), "") != ""
        }


class QualificationForm(forms.Form):
    """The qualification of the lot's next bid (named, so that a form sent twice is
    refused instead of judging the next bid)."""

    entry = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)
    passed = forms.ChoiceField(
        label=_("Qualification"),
        choices=[("yes", _("Meets the qualification requirements")), ("no", _("Fails them"))],
    )
    reason = forms.CharField(
        label=_("Requirement it fails"),
        max_length=REASON_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


# --- contracts -------------------------------------------------------------------------------


def _money_field(label, required=True) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal("0.01"),
        max_value=MAX_PROCESS_VALUE,
        max_digits=16,
        decimal_places=2,
    )


def _reason_field(label=None, required=True) -> forms.CharField:
    return forms.CharField(
        label=label or _("Reason"),
        required=required,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ContractForm(forms.Form):
    """The contract of one consented award; the amount is the award's when left empty."""

    award = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)
    number = forms.CharField(label=_("Contract number"), max_length=60)
    signed_on = forms.DateField(label=_("Signing date"), widget=DateInput)
    amount = _money_field(_("Amount (S/), if not the award's"), required=False)
    term_days = forms.IntegerField(label=_("Term (days)"), min_value=1, max_value=3650)
    guarantee = forms.ChoiceField(label=_("Guarantee"))

    def __init__(self, *args, **kwargs):
        from .models import Contract

        super().__init__(*args, **kwargs)
        self.fields["guarantee"].choices = Contract.Guarantee.choices


class ContractAmendmentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"))
    amount = _money_field(_("Amount (S/)"))
    reason = _reason_field()
    signed_on = forms.DateField(label=_("Date"), widget=DateInput)

    def __init__(self, *args, **kwargs):
        from .models import ContractAmendment

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = ContractAmendment.Kind.choices


class ContractCompletionForm(forms.Form):
    completed_on = forms.DateField(label=_("Completion date"), widget=DateInput)
    final_amount = _money_field(_("Final amount (S/)"))


class ContractTerminationForm(forms.Form):
    party = forms.ChoiceField(label=_("Terminated by"))
    reason = _reason_field()
    terminated_on = forms.DateField(label=_("Date"), widget=DateInput)

    def __init__(self, *args, **kwargs):
        from .models import Contract

        super().__init__(*args, **kwargs)
        self.fields["party"].choices = Contract.Party.choices


class ContractAnnulmentForm(forms.Form):
    reason = _reason_field()


class SupplierEvaluationForm(forms.Form):
    on_time = forms.ChoiceField(
        label=_("Delivered on time"), choices=[("yes", _("Yes")), ("no", _("No"))]
    )
    quality = forms.IntegerField(label=_("Quality (1-5)"), min_value=1, max_value=5)
    penalties = forms.DecimalField(
        label=_("Penalties applied (S/)"),
        min_value=Decimal(0),
        max_value=MAX_PROCESS_VALUE,
        max_digits=16,
        decimal_places=2,
        initial=0,
    )
    comment = _reason_field(_("Comment"), required=False)


# --- appeals ---------------------------------------------------------------------------------


class AppealForm(forms.Form):
    """A bidder's appeal: the supplier it acts for, the award (lot), what is appealed (and
    the bid, for an admission or a score), the reasons, the fee paid and the documents."""

    supplier = forms.ChoiceField(label=_("Appellant"))
    award = forms.ChoiceField(label=_("Award appealed"))
    subject = forms.ChoiceField(label=_("Against"))
    entry = forms.ChoiceField(label=_("Bid concerned (admission or score)"), required=False)
    reasons = forms.CharField(
        label=_("Reasons"), max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 5})
    )
    fee_amount = forms.DecimalField(
        label=_("Appeal fee paid (S/)"),
        min_value=Decimal("0.01"),
        max_value=Decimal("99999999.99"),
        max_digits=10,
        decimal_places=2,
    )
    file = MultipleFileField(label=_("Documents"), required=False)

    def __init__(self, *args, suppliers, awards, entries, **kwargs):
        from .models import Appeal

        super().__init__(*args, **kwargs)
        self.fields["supplier"].choices = [
            (str(s.pk), f"{s.legal_name} ({s.ruc})") for s in suppliers
        ]
        self.fields["award"].choices = [
            (str(a.pk), a.item.description if a.item else _("The whole process")) for a in awards
        ]
        self.fields["subject"].choices = Appeal.Subject.choices
        self.fields["entry"].choices = [("", "—")] + [
            (str(e.pk), f"{e.opened_bid.position}. {e.opened_bid.lead_name}") for e in entries
        ]
        self.fields["file"].help_text = _("PDF, DOCX, XLSX or ZIP, up to %(limit)s each.") % {
            "limit": document_limits().max_megabytes
        }


class AppealDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("admit", _("Admit")),
            ("inadmissible", _("Inadmissible")),
            ("founded", _("Founded")),
            ("unfounded", _("Unfounded")),
        ],
    )
    resolution = forms.CharField(
        label=_("Resolution (grounds)"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    file = forms.FileField(label=_("Resolution document"), required=False)


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("New note"),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Seen by auditors and administrators only; it cannot be edited."),
    )
