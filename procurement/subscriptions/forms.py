from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.catalog import code_prefix
from core.codelists import ObjectType, ProcedureType
from core.models import CatalogItem, Department, District, Province
from notifications.models import Delivery, Subscription

from ..models import Entity
from . import keywords
from .matching import Criteria

MAX_CODES = 30
_SPLIT = str.maketrans({",": " ", ";": " ", "\n": " ", "\r": " ", "\t": " "})


def _tokens(value: str) -> list[str]:
    tokens = list(dict.fromkeys(value.translate(_SPLIT).split()))
    if len(tokens) > MAX_CODES:
        raise forms.ValidationError(
            ngettext("Write at most %(count)d code.", "Write at most %(count)d codes.", MAX_CODES)
            % {"count": MAX_CODES},
            code="too_many",
        )
    return tokens


def _digits(token: str, lengths: tuple[int, ...]) -> str:
    if not token.isascii() or not token.isdigit() or len(token) not in lengths:
        raise forms.ValidationError(
            _("“%(code)s” is not a valid code.") % {"code": token[:20]}, code="invalid_code"
        )
    return token


def _initial(criteria: Criteria, **fields) -> dict:
    """The form's initial values for `criteria` (and the other `fields`)."""
    return {
        "keywords": criteria.keywords,
        "catalog": ", ".join(criteria.catalog),
        "regions": ", ".join(criteria.regions),
        "entities": ", ".join(criteria.entities),
        "procedure_types": list(criteria.procedure_types),
        "object_types": list(criteria.object_types),
        "min_value": criteria.min_value,
        "max_value": criteria.max_value,
        "sme_only": criteria.sme_only,
        **fields,
    }


class SubscriptionForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    keywords = forms.CharField(
        label=gettext_lazy("Keywords"),
        max_length=500,
        required=False,
        help_text=gettext_lazy(
            "Words or phrases separated by commas; a process matches if it contains every "
            "word of one of them (accents, capitals and plurals ignored)."
        ),
    )
    catalog = forms.CharField(
        label=gettext_lazy("Catalog codes"),
        max_length=1000,
        required=False,
        help_text=gettext_lazy(
            "Codes of any level separated by commas, e.g. 43210000 (a family: all its "
            "products) or 44121701 (one product)."
        ),
    )
    regions = forms.CharField(
        label=gettext_lazy("Regions (UBIGEO)"),
        max_length=500,
        required=False,
        help_text=gettext_lazy(
            "Department (08), province (0801) or district (080108) codes, separated by commas."
        ),
    )
    entities = forms.CharField(
        label=gettext_lazy("Entities (RUC)"),
        max_length=500,
        required=False,
        help_text=gettext_lazy("RUCs of the contracting entities, separated by commas."),
    )
    procedure_types = forms.MultipleChoiceField(
        label=gettext_lazy("Procedure types"),
        choices=ProcedureType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    object_types = forms.MultipleChoiceField(
        label=gettext_lazy("Objects"),
        choices=ObjectType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    min_value = forms.DecimalField(
        label=gettext_lazy("Minimum value (S/)"),
        max_digits=16,
        decimal_places=2,
        min_value=0,
        required=False,
    )
    max_value = forms.DecimalField(
        label=gettext_lazy("Maximum value (S/)"),
        max_digits=16,
        decimal_places=2,
        min_value=0,
        required=False,
    )
    sme_only = forms.BooleanField(
        label=gettext_lazy("Only processes reserved for SMEs"), required=False
    )
    delivery = forms.ChoiceField(
        label=gettext_lazy("Delivery"), choices=Delivery.choices, initial=Delivery.IMMEDIATE
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language of the e-mails"), choices=settings.LANGUAGES, initial="es"
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    @classmethod
    def for_subscription(cls, subscription: Subscription | None, data=None, suggestion=None):
        """The form of a saved subscription, or of a new one (filled with `suggestion`, a
        suggestions.Suggestion, when given)."""
        if subscription is None:
            initial = _initial(suggestion.criteria, name=suggestion.name) if suggestion else {}
            form = cls(data, initial=initial)
            del form.fields["active"]  # a new subscription is active
            return form
        return cls(
            data,
            initial=_initial(
                Criteria.of(subscription),
                name=subscription.name,
                delivery=subscription.delivery,
                language=subscription.language,
                active=subscription.active,
            ),
        )

    def clean_keywords(self):
        value = self.cleaned_data["keywords"]
        phrases = keywords.phrases(value)
        limit, length = keywords.MAX_KEYWORDS, keywords.MAX_KEYWORD_LENGTH
        if len(phrases) > limit:
            raise forms.ValidationError(
                ngettext(
                    "Write at most %(count)d keyword.", "Write at most %(count)d keywords.", limit
                )
                % {"count": limit},
                code="too_many",
            )
        if any(len(phrase) > length for phrase in phrases):
            raise forms.ValidationError(
                ngettext(
                    "A keyword is at most %(count)d character long.",
                    "A keyword is at most %(count)d characters long.",
                    length,
                )
                % {"count": length},
                code="too_long",
            )
        if empty := [phrase for phrase in phrases if phrase not in keywords.parse(phrase)]:
            raise forms.ValidationError(
                _("“%(keyword)s” has no word to search for (only words such as “de” or “la”).")
                % {"keyword": empty[0][:40]},
                code="no_words",
            )
        return value

    def clean_catalog(self):
        """Codes as prefixes: 43210000 is stored as 4321, the family, matching 43211503."""
        prefixes = []
        for token in _tokens(self.cleaned_data["catalog"]):
            prefix = code_prefix(_digits(token, (2, 4, 6, 8)))
            if len(prefix) % 2 or not CatalogItem.objects.filter(code__startswith=prefix).exists():
                raise forms.ValidationError(
                    _("The catalog has no code “%(code)s”.") % {"code": token},
                    code="unknown_code",
                )
            prefixes.append(prefix)
        return tuple(dict.fromkeys(prefixes))

    def clean_regions(self):
        levels = {2: Department, 4: Province, 6: District}
        codes = []
        for token in _tokens(self.cleaned_data["regions"]):
            code = _digits(token, tuple(levels))
            if not levels[len(code)].objects.filter(code=code).exists():
                raise forms.ValidationError(
                    _("There is no region with UBIGEO “%(code)s”.") % {"code": code},
                    code="unknown_region",
                )
            codes.append(code)
        return tuple(codes)

    def clean_entities(self):
        rucs = []
        for token in _tokens(self.cleaned_data["entities"]):
            ruc = _digits(token, (11,))
            if not Entity.objects.filter(ruc=ruc).exists():
                raise forms.ValidationError(
                    _("There is no entity with RUC “%(ruc)s”.") % {"ruc": ruc},
                    code="unknown_entity",
                )
            rucs.append(ruc)
        return tuple(rucs)

    def clean(self):
        data = super().clean()
        low, high = data.get("min_value"), data.get("max_value")
        if low is not None and high is not None and low > high:
            self.add_error("max_value", _("The maximum value is below the minimum value."))
        return data

    def criteria(self) -> Criteria:
        data = self.cleaned_data
        return Criteria(
            catalog=data["catalog"],
            regions=data["regions"],
            entities=data["entities"],
            procedure_types=tuple(data["procedure_types"]),
            object_types=tuple(data["object_types"]),
            keywords=data["keywords"],
            min_value=data["min_value"],
            max_value=data["max_value"],
            sme_only=data["sme_only"],
        )
