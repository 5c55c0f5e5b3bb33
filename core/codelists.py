"""Codelists shared across the portal. Codes in English; labels translated (Spanish first)."""

import itertools
from functools import cache

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .text import plain


class ObjectType(models.TextChoices):
    GOODS = "goods", _("Goods")
    SERVICES = "services", _("Services")
    WORKS = "works", _("Works")
    CONSULTING_WORKS = "consulting_works", _("Consultancy for works")


class ProcedureType(models.TextChoices):
    """Selection procedures. The value is the prefix of a SEACE-style process identifier."""

    LP = "LP", _("Public tender (Licitación Pública)")
    CP = "CP", _("Public competition (Concurso Público)")
    AS = "AS", _("Simplified award (Adjudicación Simplificada)")
    SIE = "SIE", _("Electronic reverse auction (Subasta Inversa Electrónica)")
    COMPRE = "COMPRE", _("Price comparison (Comparación de Precios)")
    CD = "CD", _("Direct contracting (Contratación Directa)")
    SCI = "SCI", _("Individual consultant selection (Selección de Consultores Individuales)")


class GovernmentLevel(models.TextChoices):
    NATIONAL = "national", _("National government")
    REGIONAL = "regional", _("Regional government")
    LOCAL = "local", _("Local government")


class CatalogLevel(models.TextChoices):
    SEGMENT = "segment", _("Segment")
    FAMILY = "family", _("Family")
    CLASS = "class", _("Class")
    COMMODITY = "commodity", _("Commodity")


class SizeClass(models.TextChoices):
    MICRO = "micro", _("Micro enterprise")
    SMALL = "small", _("Small enterprise")
    MEDIUM = "medium", _("Medium enterprise")
    LARGE = "large", _("Large enterprise")
    # Rules without a medium band (Law 28015) only say "above small".
    MEDIUM_OR_LARGE = "medium_or_large", _("Medium or large enterprise")

    @classmethod
    def sme_values(cls) -> tuple[str, ...]:
        """The classes that count as SME (MYPE) for reservations and the 40% share."""
        return (cls.MICRO.value, cls.SMALL.value)

    @classmethod
    def is_sme(cls, size_class: str) -> bool:
        """Whether `size_class` (a stored value, "" for none) counts as SME: the one reading
        behind SmeStanding.is_sme, Supplier.is_sme and a standing an opening act recorded."""
        return size_class in cls.sme_values()


class Stage(models.TextChoices):
    """Calendar stages of a selection process, in their legal order."""

    CALL = "convocatoria", _("Call")
    REGISTRATION = "registro", _("Registration of participants")
    QUESTIONS = "consultas", _("Questions and observations")
    ANSWERS = "absolucion", _("Answers")
    INTEGRATION = "integracion", _("Final (integrated) tender documents")
    BIDS = "ofertas", _("Submission of bids")
    OPENING = "apertura", _("Opening")
    EVALUATION = "evaluacion", _("Evaluation and qualification")
    AWARD = "buena_pro", _("Award (buena pro)")
    STANDSTILL = "consentimiento", _("Standstill (consent of the award)")
    CONTRACT = "contrato", _("Contract")


class DirectCause(models.TextChoices):
    """Legal causes for direct contracting (Ley 30225, art. 27)."""

    BETWEEN_ENTITIES = "between_entities", _("Contract between public entities")
    EMERGENCY = "emergency", _("Emergency situation")
    SHORTAGE = "shortage", _("Imminent shortage")
    NATIONAL_SECURITY = "national_security", _("Secret or national security purposes")
    SOLE_PROVIDER = "sole_provider", _("Sole provider")
    PERSONAL_SERVICES = "personal_services", _("Very personal (intuitu personae) services")
    ADVERTISING = "advertising", _("Advertising services in media")
    CONSULTANCY_CONTINUATION = "consultancy_continuation", _("Continuation of a consultancy")
    REAL_ESTATE = "real_estate", _("Purchase or lease of real estate")
    RESEARCH = "research", _("Goods and services for scientific research")
    TERMINATED_CONTRACT = "terminated_contract", _("Completion of a terminated contract")
    LEGAL_COUNSEL = "legal_counsel", _("Specialised legal counsel for officials")


class Unit(models.TextChoices):
    """Units of measure of plan and process items: a codelist, never free text, so that
    prices "per unit" and "per box of 100" are never compared. Codes are UN/ECE
    Recommendation 20 (the UNCEFACT scheme OCDS names, and the one Peru's SUNAT catalogue
    No. 03 uses); labels are the names SEACE shows."""

    UNIT = "NIU", pgettext_lazy("unit of measure", "unit")
    PIECE = "H87", _("piece")
    PAIR = "PR", _("pair")
    SET = "SET", _("set")
    KIT = "KT", _("kit")
    DOZEN = "DZN", _("dozen")
    HUNDRED = "CEN", _("hundred")
    THOUSAND = "MIL", _("thousand")
    BOX = "BX", _("box")
    PACK = "PK", _("pack")
    BAG = "BG", _("bag")
    BOTTLE = "BO", _("bottle")
    CAN = "CA", _("can")
    BUCKET = "BJ", _("bucket")
    DRUM = "DR", _("drum")
    ROLL = "RO", _("roll")
    REAM = "RM", _("ream")
    TUBE = "TU", _("tube")
    VIAL = "VI", _("vial")
    AMPOULE = "AM", _("ampoule")
    GRAM = "GRM", _("gram")
    KILOGRAM = "KGM", _("kilogram")
    TONNE = "TNE", _("tonne")
    MILLILITRE = "MLT", _("millilitre")
    LITRE = "LTR", _("litre")
    GALLON = "GLL", _("gallon")
    METRE = "MTR", _("metre")
    KILOMETRE = "KMT", _("kilometre")
    SQUARE_METRE = "MTK", _("square metre")
    CUBIC_METRE = "MTQ", _("cubic metre")
    KILOWATT_HOUR = "KWH", _("kilowatt hour")
    HOUR = "HUR", _("hour")
    DAY = "DAY", _("day")
    MONTH = "MON", _("month")
    YEAR = "ANN", _("year")
    SERVICE = "E48", _("service")
    LUMP_SUM = "LS", _("lump sum")
    # What another portal or an earlier version wrote that is no unit of this list ("caja x
    # 100"): kept in the item's description, and never compared in price statistics.
    OTHER = "ZZ", _("other unit (see the description)")


# What people and other portals write for each unit, besides its code and its labels:
# Spanish names (singular; plurals are folded by unit_from_text) and usual abbreviations.
UNIT_ALIASES = {
    Unit.UNIT: ("unidad", "und", "unid", "u", "un", "unidades"),
    Unit.PIECE: ("pieza", "pza"),
    Unit.PAIR: ("par",),
    Unit.SET: ("juego",),
    Unit.DOZEN: ("docena",),
    Unit.HUNDRED: ("ciento",),
    Unit.THOUSAND: ("millar", "mill"),
    Unit.BOX: ("caja",),
    Unit.PACK: ("paquete", "paq"),
    Unit.BAG: ("bolsa", "saco"),
    Unit.BOTTLE: ("botella", "frasco"),
    Unit.CAN: ("lata",),
    Unit.BUCKET: ("balde",),
    Unit.DRUM: ("cilindro", "tambor"),
    Unit.ROLL: ("rollo",),
    Unit.REAM: ("resma",),
    Unit.TUBE: ("tubo",),
    Unit.AMPOULE: ("ampolla",),
    Unit.GRAM: ("gramo", "g", "gr"),
    Unit.KILOGRAM: ("kilogramo", "kg", "kilo"),
    Unit.TONNE: ("tonelada", "t", "tn", "tm", "tonelada metrica"),
    Unit.MILLILITRE: ("mililitro", "ml"),
    Unit.LITRE: ("litro", "l", "lt"),
    Unit.GALLON: ("galon", "gal", "gl"),
    Unit.METRE: ("metro", "m", "metro lineal"),
    Unit.KILOMETRE: ("kilometro", "km"),
    Unit.SQUARE_METRE: ("metro cuadrado", "m2"),
    Unit.CUBIC_METRE: ("metro cubico", "m3"),
    Unit.KILOWATT_HOUR: ("kilovatio hora", "kwh"),
    Unit.HOUR: ("hora", "h", "hr"),
    Unit.DAY: ("dia",),
    Unit.MONTH: ("mes",),
    Unit.YEAR: ("ano",),
    Unit.SERVICE: ("servicio", "serv", "zz"),
    Unit.LUMP_SUM: ("global", "glb", "obra", "suma alzada"),
    Unit.OTHER: ("otra", "otro", "otra unidad"),
}


@cache
def _unit_names() -> dict[str, str]:
    names = {}
    for unit in Unit:
        for language in ("en", "es"):
            with translation.override(language):
                names[plain(str(unit.label))] = unit.value
        for alias in UNIT_ALIASES.get(unit, ()):
            names[alias] = unit.value
        names[unit.value.lower()] = unit.value
    return names


def _singulars(word: str) -> list[str]:
    """A word and its possible singulars ('cajas' -> 'caja', 'galones' -> 'galon'); words of
    three letters or fewer are abbreviations and kept as written ('les' is no 'l')."""
    forms = [word]
    if len(word) > 3 and word.endswith("es"):
        forms.append(word[:-2])
    if len(word) > 3 and word.endswith("s"):
        forms.append(word[:-1])
    return forms


def unit_from_text(text: str) -> str | None:
    """The Unit code for what a person or another portal wrote ('Cajas', 'KGM', 'galón',
    'metros cuadrados', 'Unidad'), or None when it is not a unit of the codelist."""
    words = plain(str(text or "")).rstrip(".").split()
    if not words or len(words) > 6:
        return None
    names = _unit_names()
    for candidate in itertools.product(*(_singulars(word) for word in words)):
        found = names.get(" ".join(candidate))
        if found:
            return found
    return None
