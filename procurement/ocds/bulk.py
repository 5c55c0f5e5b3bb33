"""The bulk export's loader: a chunk of published processes with every row their releases
read, as release_queryset() would give them, at a fraction of the cost.

The rows are plain objects, not model instances: each has its table's columns as attributes
(by attname, as on a model instance), `pk`, and its model's properties (`Supplier.is_sme`),
so the release builders read them as they read model instances. Forward relations and the
prefetched lists are plain attributes too, set under the names the builders read (`entity`,
`release_rows_items`...). Model.__init__, model state, relation descriptors and the prefetch
machinery were most of a large export's time. Each relation is one query per chunk, read with
`values_list` (with each field's own conversions) in the same order as release_queryset()'s
prefetches; tests/procurement/test_export_ocds.py checks both give the same releases, byte for
byte, on the demo data. No row refers back to its parent, so rows hold no reference cycles and
are freed by reference counting as soon as their chunk is written. Reference rows read by many
processes (districts, their provinces and departments) are kept for the whole export: the
table is small and fixed, so memory stays flat.
"""

import functools
import operator
from collections import defaultdict
from collections.abc import Iterable

from django.db import models

from core.models import CatalogItem, Department, District, Province
from suppliers.models import Supplier

from ..models import (
    Award,
    BidOpening,
    CalendarAmendment,
    Contract,
    ContractAmendment,
    Entity,
    OpenedBid,
    OpenedBidMember,
    PlanItem,
    PlanVersion,
    ProcessDocument,
    ProcessItem,
    ProcessStage,
    ProcurementPlan,
    ProcurementProcess,
    StatusChange,
    SupplierEvaluation,
)
from .releases import _ROWS


@functools.cache
def _row_class(model) -> type:
    """The class of `model`'s rows: `pk` and the properties the model and its own bases
    define (a subclass's override wins, as on the model)."""
    namespace = {
        name: value
        for klass in reversed(model.__mro__)
        if issubclass(klass, models.Model) and klass is not models.Model
        for name, value in vars(klass).items()
        if isinstance(value, property)
    }
    namespace["pk"] = property(operator.attrgetter(model._meta.pk.attname))
    namespace["__doc__"] = f"A row of {model.__name__} read by the bulk export."
    return type(f"{model.__name__}Row", (), namespace)


# Columns no release reads that would cost the most to read (the search document, the opened
# bids' JSON snapshots): left out of the rows. A release that came to read one would fail
# on the bulk export's rows (AttributeError), which the export tests would show.
UNREAD = {
    ProcurementProcess: {"search_vector", "search_text", "catalog_codes"},
    OpenedBid: {"size_classes", "domiciles"},
    Contract: {"size_classes"},
}


def _instances(queryset, limit: int | None = None) -> list:
    """The rows of `queryset` (every concrete field but the UNREAD, by attname, with the
    field's own conversions from the database), as plain objects of the model's row class."""
    model = queryset.model
    unread = UNREAD.get(model, set())
    names = [f.attname for f in model._meta.concrete_fields if f.attname not in unread]
    rows = queryset.values_list(*names)
    if limit is not None:
        rows = rows[:limit]
    new = functools.partial(object.__new__, _row_class(model))
    instances = []
    append = instances.append
    for values in rows:
        instance = new()
        instance.__dict__.update(zip(names, values, strict=True))
        append(instance)
    return instances


def _by_id(queryset) -> dict:
    return {row.pk: row for row in _instances(queryset.order_by())}  # any order


def _with_missing(targets: dict, model, instances: list, attname: str) -> dict:
    """`targets` and the rows of `model` the instances name (by `attname`) that it lacks."""
    missing = {getattr(instance, attname) for instance in instances} - targets.keys() - {None}
    return {**targets, **_by_id(model.objects.filter(pk__in=missing))} if missing else targets


def _link(instances: Iterable, model, name: str, targets: dict) -> None:
    """Set the forward relation `name` of each instance to its row in `targets` (by id;
    None for none), as select_related() gives it."""
    attname = model._meta.get_field(name).attname
    for instance in instances:
        fields = instance.__dict__
        fields[name] = targets.get(fields[attname])


def _attach(parents: Iterable, children: list, parent_attname: str, to_attr: str) -> None:
    """Each parent's children (in the children's order) as the list `to_attr`, as a
    Prefetch(to_attr=...) does."""
    grouped = defaultdict(list)
    for child in children:
        grouped[child.__dict__[parent_attname]].append(child)
    for parent in parents:
        parent.__dict__[to_attr] = grouped.get(parent.pk, [])


class Loader:
    """Loads chunks of published processes for the bulk export (see the module's doc)."""

    def __init__(self):
        self._places = {}  # District by id, with its province and department

    def processes(
        self,
        *,
        after: int,
        until: int | None = None,
        year: int | None = None,
        chunk: int | None = None,
    ) -> list:
        """The published processes with an id above `after` (and at most `until`; only the
        first `chunk` of them when given), by id, with their rows (those of
        release_queryset())."""
        queryset = ProcurementProcess.objects.published().filter(id__gt=after).order_by("id")
        if until is not None:
            queryset = queryset.filter(id__lte=until)
        if year is not None:
            queryset = queryset.filter(fiscal_year_id=year)
        processes = _instances(queryset, limit=chunk)
        if not processes:
            return processes
        # The processes' rows are selected by their process's id range and a subquery of
        # the same query (lists of ids as query parameters cost more to send than the
        # rows; the range keeps the plan an index scan however large the tables). Rows are
        # ordered by their parent's id first (any order of the parents will do; the
        # models' default orderings by parent would join the parent's table to sort).
        last = processes[-1].pk
        in_chunk = {
            "process_id__gt": after,
            "process_id__lte": last,
            "process_id__in": queryset.filter(id__lte=last).values("id"),
        }
        entities = _by_id(Entity.objects.filter(pk__in={p.entity_id for p in processes}))
        self._place(entities.values(), Entity, "ubigeo")
        _link(processes, ProcurementProcess, "entity", entities)
        items = self._items(processes, in_chunk)
        self._rows(
            processes,
            ProcessStage.objects.filter(**in_chunk).order_by("process_id", "position"),
            "stages",
        )
        self._rows(
            processes,
            ProcessDocument.objects.filter(**in_chunk).order_by("published_at", "id"),
            "documents",
        )
        self._rows(
            processes,
            CalendarAmendment.objects.filter(**in_chunk).order_by("process_id", "at", "id"),
            "amendments",
        )
        self._rows(
            processes,
            StatusChange.objects.filter(**in_chunk).order_by("at", "id"),
            "history",
        )
        completed = BidOpening.objects.filter(**in_chunk, status=BidOpening.Status.COMPLETED)
        openings = _instances(completed.order_by("process_id", "started_at", "id"))
        _attach(processes, openings, "process_id", "completed_openings")
        opened = OpenedBid.objects.filter(opening_id__in=completed.values("id"))
        bids = _instances(opened.order_by("position"))
        _attach(openings, bids, "opening_id", _ROWS + "bids")
        chunk_awards = Award.objects.filter(**in_chunk)
        awards = _instances(chunk_awards.order_by("decided_at", "id"))
        # The awards' winning bids: the opened bids above (a completed opening's), or others.
        opened_bids = _with_missing(
            {bid.pk: bid for bid in bids}, OpenedBid, awards, "opened_bid_id"
        )
        # Lists of ids from here on: an OR of subqueries would scan the whole table.
        members = _instances(
            OpenedBidMember.objects.filter(opened_bid_id__in=list(opened_bids)).order_by(
                "opened_bid_id", "-is_lead", "id"
            )
        )
        _attach(opened_bids.values(), members, "opened_bid_id", _ROWS + "members")
        suppliers = _by_id(
            Supplier.objects.filter(
                pk__in={m.supplier_id for m in members} | {a.supplier_id for a in awards}
            )
        )
        self._place(suppliers.values(), Supplier, "domicile")
        _link(members, OpenedBidMember, "supplier", suppliers)
        _link(awards, Award, "supplier", suppliers)
        _link(awards, Award, "opened_bid", opened_bids)
        _link(awards, Award, "item", _with_missing(items, ProcessItem, awards, "item_id"))
        _attach(processes, awards, "process_id", _ROWS + "awards")
        self._contracts(processes, in_chunk, items)
        return processes

    def _place(self, instances, model, name: str) -> None:
        """Link each instance's district (`name`), with its province and department."""
        attname = model._meta.get_field(name).attname
        missing = {getattr(i, attname) for i in instances} - self._places.keys() - {None}
        if missing:
            districts = _by_id(District.objects.filter(pk__in=missing))
            provinces = _by_id(
                Province.objects.filter(pk__in={d.province_id for d in districts.values()})
            )
            departments = _by_id(
                Department.objects.filter(pk__in={p.department_id for p in provinces.values()})
            )
            _link(provinces.values(), Province, "department", departments)
            _link(districts.values(), District, "province", provinces)
            self._places.update(districts)
        _link(instances, model, name, self._places)

    def _rows(self, parents: list, queryset, name: str) -> list:
        rows = _instances(queryset)
        _attach(parents, rows, "process_id", _ROWS + name)
        return rows

    def _items(self, processes: list, in_chunk: dict) -> dict:
        """The processes' items (with their catalog entries and the plan items they come
        from, with their plan versions and plans), by id."""
        chunk_items = ProcessItem.objects.filter(**in_chunk)
        items = self._rows(processes, chunk_items.order_by("id"), "items")
        chunk_plan_items = PlanItem.objects.filter(pk__in=chunk_items.values("plan_item_id"))
        plan_items = _by_id(chunk_plan_items)
        versions = _by_id(PlanVersion.objects.filter(pk__in=chunk_plan_items.values("version_id")))
        plans = _by_id(
            ProcurementPlan.objects.filter(pk__in={v.plan_id for v in versions.values()})
        )
        _link(versions.values(), PlanVersion, "plan", plans)
        _link(plan_items.values(), PlanItem, "version", versions)
        catalog = _by_id(
            CatalogItem.objects.filter(
                pk__in={i.catalog_item_id for i in items}
                | {p.catalog_item_id for p in plan_items.values()}
            )
        )
        _link(plan_items.values(), PlanItem, "catalog_item", catalog)
        _link(items, ProcessItem, "catalog_item", catalog)
        _link(items, ProcessItem, "plan_item", plan_items)
        return {item.pk: item for item in items}

    def _contracts(self, processes: list, in_chunk: dict, items: dict) -> None:
        chunk_contracts = Contract.objects.filter(**in_chunk)
        contracts = _instances(chunk_contracts.order_by("created_at", "id"))
        _link(contracts, Contract, "item", _with_missing(items, ProcessItem, contracts, "item_id"))
        contract_ids = chunk_contracts.values("id")
        evaluations = {
            evaluation.contract_id: evaluation
            for evaluation in _instances(
                SupplierEvaluation.objects.filter(contract_id__in=contract_ids)
            )
        }
        for contract in contracts:  # the reverse one-to-one, None for none
            contract.__dict__["evaluation"] = evaluations.get(contract.pk)
        amendments = _instances(
            ContractAmendment.objects.filter(contract_id__in=contract_ids).order_by(
                "contract_id", "signed_on", "id"
            )
        )
        _attach(contracts, amendments, "contract_id", _ROWS + "amendments")
        _attach(processes, contracts, "process_id", _ROWS + "contracts")
