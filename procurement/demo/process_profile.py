"""What demo selection processes look like: the mix of statuses, objects and procedures,
typical stage lengths, and the words of their descriptions and reasons."""

import random

from core.codelists import DirectCause, ObjectType, Stage, Unit

from ..models import ProcessStatus as S

STATUS_MIX = [
    (S.DRAFT, 0.03),
    (S.CALLED, 0.25),
    (S.SUSPENDED, 0.02),
    (S.AWARDED, 0.10),
    (S.CONSENTED, 0.10),
    (S.CONTRACTED, 0.35),
    (S.DESERTED, 0.07),
    (S.CANCELLED, 0.05),
    (S.VOID, 0.03),
]
# Statuses that only exist near `today` (the process is still running).
RECENT = {S.DRAFT, S.CALLED, S.SUSPENDED, S.AWARDED, S.CONSENTED}
PLAN_SHARE = 0.65  # processes that come from the plan while it has free items
DIRECT_SHARE = 0.03  # direct contracting (CD), with a legal cause
SECOND_CALL_SHARE = 0.3  # deserted processes called again
OBJECT_MIX = [
    (ObjectType.GOODS, 0.5),
    (ObjectType.SERVICES, 0.35),
    (ObjectType.WORKS, 0.1),
    (ObjectType.CONSULTING_WORKS, 0.05),
]
LEVEL_WEIGHT = {"national": 6.0, "regional": 3.0, "local": 1.2}
SCALE = {"national": 3.0, "regional": 1.5, "local": 0.6}
UNITS = {
    ObjectType.GOODS: [Unit.UNIT, Unit.BOX, Unit.PACK, Unit.KIT, Unit.THOUSAND, Unit.SET],
    ObjectType.SERVICES: [Unit.SERVICE],
    ObjectType.WORKS: [Unit.LUMP_SUM],
    ObjectType.CONSULTING_WORKS: [Unit.SERVICE],
}
QUANTITIES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2500]

# How each stage is laid out, in working days: (anchor, gap range, duration range). The
# anchor is the call's start ("call") or the previous stage's end ("end"); registration runs
# beside the other stages until the day before the bid deadline. These are typical lengths,
# not the legal minimums: those come from core.StageMinimum and are applied on top.
LAYOUT = {
    Stage.CALL: ("call", (0, 0), (0, 0)),
    Stage.REGISTRATION: ("call", (1, 1), None),
    Stage.QUESTIONS: ("call", (1, 1), (4, 9)),
    Stage.ANSWERS: ("end", (1, 3), (0, 2)),
    Stage.INTEGRATION: ("end", (1, 2), (0, 1)),
    Stage.BIDS: ("end", (1, 2), (0, 4)),
    Stage.OPENING: ("end", (0, 1), (0, 0)),
    Stage.EVALUATION: ("end", (0, 1), (1, 6)),
    Stage.AWARD: ("end", (1, 2), (0, 0)),
    Stage.STANDSTILL: ("end", (1, 1), (0, 0)),
    Stage.CONTRACT: ("end", (1, 3), (3, 10)),
}
DEFAULT_LAYOUT = ("end", (1, 2), (0, 3))

OUTSIDE_PLAN_REASONS = [
    "Necesidad sobrevenida no prevista en el PAC; se incluirá en la próxima modificación.",
    "Atención de la situación de emergencia por lluvias intensas declarada por D.S.",
    "Reposición de bienes siniestrados requerida con urgencia por el área usuaria.",
    "Transferencia de partidas recibida después de aprobado el PAC.",
    "Cumplimiento de una sentencia judicial que ordena la prestación.",
]
# Legal causes of direct contracting (Ley 30225, art. 27): weight, words for the description.
DIRECT_CAUSES = [
    (DirectCause.EMERGENCY, 0.30, "situación de emergencia"),
    (DirectCause.SOLE_PROVIDER, 0.20, "proveedor único"),
    (DirectCause.SHORTAGE, 0.15, "desabastecimiento inminente"),
    (DirectCause.BETWEEN_ENTITIES, 0.15, "convenio entre entidades públicas"),
    (DirectCause.PERSONAL_SERVICES, 0.10, "servicios personalísimos"),
    (DirectCause.LEGAL_COUNSEL, 0.05, "patrocinio legal de funcionarios"),
    (DirectCause.RESEARCH, 0.05, "investigación científica"),
]
REASONS = {
    "suspend_award": [
        "Recurso de apelación interpuesto por un postor contra el otorgamiento de la buena pro.",
        "Recurso de apelación contra la descalificación de una oferta.",
        "Recurso de apelación contra la evaluación y calificación de las ofertas.",
    ],
    "suspend_call": [
        "Recurso de apelación contra actos dictados durante el procedimiento de selección.",
        "Medida cautelar dictada por el Tribunal de Contrataciones del Estado.",
    ],
    "resume": [
        "Recurso declarado infundado por el Tribunal de Contrataciones del Estado.",
        "Recurso declarado improcedente.",
        "Desistimiento del impugnante.",
    ],
    "desert": [
        "No se presentaron ofertas.",
        "Ninguna oferta cumplió los requisitos de admisión.",
        "Ninguna oferta alcanzó el puntaje técnico mínimo.",
        "Las ofertas superan el valor estimado y no se obtuvo ampliación presupuestal.",
    ],
    "cancel": [
        "Desaparición de la necesidad del área usuaria.",
        "Recorte presupuestal dispuesto por la Ley de Presupuesto.",
        "Reprogramación de la contratación por causa de fuerza mayor.",
        "La necesidad será atendida mediante una compra corporativa.",
    ],
    "annul": [
        "Nulidad de oficio: las bases contravienen el principio de transparencia.",
        "Nulidad de oficio: el requerimiento contiene especificaciones que direccionan la contratación.",
        "Nulidad declarada por el Tribunal de Contrataciones del Estado.",
        "Vicios en la evaluación y calificación de las ofertas.",
    ],
}
DESCRIPTIONS = {
    ObjectType.GOODS: ["Adquisición de {x}", "Suministro de {x}", "Adquisición de {x} para la {a}"],
    ObjectType.SERVICES: ["Contratación del servicio de {x}", "Servicio de {x} para la {a}"],
    ObjectType.WORKS: ["Ejecución de la obra: {x} en el distrito de {d}"],
    ObjectType.CONSULTING_WORKS: [
        "Consultoría de obra para la elaboración del expediente técnico: {x}",
        "Supervisión de obra: {x} en el distrito de {d}",
    ],
}


def pick(rng: random.Random, weighted):
    roll, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if roll < total:
            return value
    return weighted[-1][0]


def lower_first(text: str) -> str:
    if len(text) > 1 and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def pick_weighted(rng: random.Random, weighted: list[tuple[int, int]]) -> int:
    total = sum(w for _v, w in weighted)
    if not total:
        return weighted[-1][0]
    roll = rng.random() * total
    for value, weight in weighted:
        roll -= weight
        if roll < 0:
            return value
    return weighted[-1][0]
