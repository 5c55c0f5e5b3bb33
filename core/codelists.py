"""Codelists shared across the portal. Codes in English; labels translated (Spanish first)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


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
