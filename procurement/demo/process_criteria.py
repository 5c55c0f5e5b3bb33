"""Evaluation criteria and lots of the demo processes, consistent with the rule of
procurement.services.criteria.criteria_problem: price alone (100) where the lowest price
wins (SIE, COMPRE), none for direct contracting, otherwise technical criteria fitting the
object and the price, adding up to 100. About one in three multi-item goods processes is
called by items.

Chosen from the process's identifier (a checksum, not the random stream), so adding this
part left every other demo row as it was, and the same seed gives the same tables."""

from decimal import Decimal
from zlib import crc32

from core.codelists import ObjectType, ProcedureType

from ..services.criteria import LOWEST_PRICE_TYPES, NO_EVALUATION_TYPES

CRITERION_FIELDS = ["process", "kind", "name", "weight", "position"]

T, E = "technical", "economic"
PRICE = (E, "Precio")

# For each object, a few tables as (kind, name, weight); each adds up to 100.
TABLES = {
    ObjectType.GOODS: [
        [(E, "Precio", 100)],
        [(T, "Plazo de entrega", 10), (T, "Garantía comercial", 10), (E, "Precio", 80)],
        [(T, "Plazo de entrega", 20), (E, "Precio", 80)],
    ],
    ObjectType.SERVICES: [
        [(T, "Experiencia del postor en la especialidad", 30), (E, "Precio", 70)],
        [
            (T, "Experiencia del postor en la especialidad", 20),
            (T, "Metodología propuesta", 10),
            (T, "Certificación de calidad", 10),
            (E, "Precio", 60),
        ],
    ],
    ObjectType.WORKS: [
        [(T, "Experiencia del postor en obras similares", 20), (E, "Precio", 80)],
        [(E, "Precio", 100)],
    ],
    ObjectType.CONSULTING_WORKS: [
        [
            (T, "Experiencia del postor en la especialidad", 50),
            (T, "Calificaciones del personal clave", 30),
            (E, "Precio", 20),
        ],
        [(T, "Metodología propuesta", 40), (T, "Experiencia del consultor", 40), (E, "Precio", 20)],
    ],
}
CONSULTANT = [(T, "Calificaciones y experiencia del consultor", 80), (E, "Precio", 20)]


def criteria_for(identifier: str, procedure_type: str, object_type: str, items: int):
    """(award_by_items, [(kind, name, weight)]) for one demo process."""
    pick = crc32(identifier.encode())
    by_items = (
        items >= 2
        and object_type == ObjectType.GOODS
        and procedure_type not in NO_EVALUATION_TYPES
        and pick % 3 == 0
    )
    if procedure_type in NO_EVALUATION_TYPES:
        return by_items, []
    if procedure_type in LOWEST_PRICE_TYPES:
        return by_items, [(*PRICE, 100)]
    if procedure_type == ProcedureType.SCI:
        return by_items, CONSULTANT
    tables = TABLES.get(object_type, TABLES[ObjectType.GOODS])
    return by_items, tables[(pick >> 4) % len(tables)]


def criterion_rows(pk: int, table) -> list[tuple]:
    return [
        (pk, kind, name, Decimal(weight), position)
        for position, (kind, name, weight) in enumerate(table, start=1)
    ]
