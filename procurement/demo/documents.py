"""Demo documents: each published process gets the documents its stage calls for, as small
real PDFs that name their process (so each has its own SHA-256), stored content-addressed
like uploads (procurement.document_store) and written with COPY on PostgreSQL.

- the bases, at the call;
- the answers to questions and observations, on the last day of the calendar's answers
  stage, where the procedure has a questions stage and the process was still called then;
- the integrated bases, on the last day of the integration stage before bids open (its first
  day if the last one is already the bids' first), once the answers are out and while the
  process was still called.

Later acts (opening, award, contract) come with the issues that model them. A document dated
today or later is not published yet. The process records when its answers and integrated
bases came out, as the services do.

Files for every process up to `FILES_FOR_FIRST` (in the order the seed created them), and for
a fixed sample of one in `SAMPLE_ONE_IN` above that (chosen by a hash of the identifier, so
the same processes every time). The others get no document rows at all: a row without its
file would fail `verify_documents`, and the seed's output says how many were left out.
"""

import hashlib
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from accounts.models import User
from core.codelists import Stage

from .. import document_store
from ..models import ProcessDocument, ProcessStage, ProcessStatus, ProcurementProcess, StatusChange
from . import pdf, workers
from .users import DEMO_DOMAIN

FILES_FOR_FIRST = 100_000
SAMPLE_ONE_IN = 20  # 5 % of the processes above FILES_FOR_FIRST
CHUNK = 2_000
PUBLISHER_EMAIL = f"publicaciones@{DEMO_DOMAIN}"
# An unusable password (Django's "!" prefix) that stays the same on every run.
UNUSABLE_PASSWORD = "!seed_demo-publisher"  # noqa: S105 - not a password: it disables login

Kind = ProcessDocument.Kind
TITLES = {
    Kind.BASES: "Bases del procedimiento de selección",
    Kind.ANSWERS: "Absolución de consultas y observaciones",
    Kind.INTEGRATED_BASES: "Bases integradas",
}
FILE_STEMS = {
    Kind.BASES: "bases",
    Kind.ANSWERS: "absolucion-de-consultas",
    Kind.INTEGRATED_BASES: "bases-integradas",
}
DOCUMENT_FIELDS = [
    "process",
    "entity",
    "kind",
    "title",
    "file",
    "filename",
    "content_type",
    "size",
    "sha256",
    "amendment_reason",
    "published_at",
    "published_by",
]
STAGES = [Stage.QUESTIONS, Stage.ANSWERS, Stage.INTEGRATION, Stage.BIDS]


@dataclass
class DocumentReport:
    documents: int = 0
    processes: int = 0  # published processes given their documents
    left_out: int = 0  # published processes above the limit and outside the sample
    files: int = 0  # distinct files written or already present
    file_bytes: int = 0  # their content
    disk_bytes: int = 0  # what the file system allocates for them


def has_files(position: int, identifier: str, files_for_first: int = FILES_FOR_FIRST) -> bool:
    """Whether the process created at `position` (from 0) gets its documents."""
    return position < files_for_first or zlib.crc32(identifier.encode()) % SAMPLE_ONE_IN == 0


@dataclass(frozen=True)
class _Process:
    pk: int
    identifier: str
    status: str
    published_at: datetime
    description: str
    entity_id: int
    entity_name: str
    entity_ruc: str


class DocumentBuilder:
    def __init__(self, today: date, *, files_for_first: int = FILES_FOR_FIRST):
        self.today = today
        self.files_for_first = files_for_first
        self.lima = ZoneInfo(settings.TIME_ZONE)
        self.report = DocumentReport()
        self.written: set[str] = set()

    # --- when each document comes out ---------------------------------------------------

    def _moment(self, day: date, pk: int, hour: int) -> datetime:
        # A working-hours time that differs between processes but not between runs.
        return datetime.combine(day, time(hour, pk % 60), tzinfo=self.lima)

    def _status_at(self, changes: list[tuple[datetime, str]], moment: datetime) -> str | None:
        status = None
        for at, to_status in changes:
            if at > moment:
                break
            status = to_status
        return status

    def documents_of(self, process: _Process, stages: dict, changes: list) -> list[tuple]:
        """(kind, moment) of each document the process's stage calls for, in time order."""
        made = [(Kind.BASES, process.published_at)]

        def publishable(moment: datetime) -> bool:
            return (
                moment.date() < self.today
                and self._status_at(changes, moment) == ProcessStatus.CALLED
            )

        questions, answers = stages.get(Stage.QUESTIONS), stages.get(Stage.ANSWERS)
        answered = None
        if questions and answers and answers[1] > questions[1]:
            moment = self._moment(answers[1], process.pk, 16)
            if publishable(moment):
                made.append((Kind.ANSWERS, moment))
                answered = moment
        integration, bids = stages.get(Stage.INTEGRATION), stages.get(Stage.BIDS)
        if integration and (answered or not questions):
            day = integration[1]
            if bids and day >= bids[0]:
                day = integration[0]
            moment = self._moment(day, process.pk, 18)
            in_time = (not bids or day < bids[0]) and (answered is None or moment > answered)
            if in_time and publishable(moment):
                made.append((Kind.INTEGRATED_BASES, moment))
        return made

    # --- content and files ----------------------------------------------------------------

    def content(self, process: _Process, kind: str, moment: datetime) -> bytes:
        day = moment.astimezone(self.lima).strftime("%d/%m/%Y")
        return pdf.one_page(
            TITLES[kind],
            [
                f"Procedimiento: {process.identifier}",
                f"Entidad: {process.entity_name} (RUC {process.entity_ruc})",
                f"Objeto: {process.description}",
                f"Fecha de publicación: {day}",
                "",
                "Documento de demostración generado por seed_demo; no tiene valor legal.",
            ],
            title=f"{TITLES[kind]} - {process.identifier}",
        )

    def store(self, content: bytes, sha256: str) -> str:
        """Write a file under its hash, like document_store.store but without syncing each of
        thousands of files to disk: the seed syncs once at the end (finish())."""
        name = document_store.name_for(sha256, "pdf")
        if name in self.written:
            return name
        try:
            path = default_storage.path(name)
        except NotImplementedError:  # object storage: the store's own path
            name = document_store.store(ContentFile(content), sha256=sha256, extension="pdf")
            self._count(name, len(content), len(content))
            return name
        try:
            with open(path, "rb") as existing:
                if hashlib.sha256(existing.read()).hexdigest() == sha256:
                    self._count(name, len(content), os.stat(path).st_blocks * 512)
                    return name
        except FileNotFoundError:
            pass
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        temporary = os.path.join(folder, f".tmp-{os.getpid()}-{sha256}")
        with open(temporary, "wb") as handle:
            handle.write(content)
        os.chmod(temporary, default_storage.file_permissions_mode or 0o644)
        os.replace(temporary, path)
        self._count(name, len(content), os.stat(path).st_blocks * 512)
        return name

    def _count(self, name: str, size: int, disk: int) -> None:
        if getattr(self, "_stored", None) is not None:  # a chunk being built: _write counts it
            self._stored.append((name, size, disk))
            return
        self.written.add(name)
        self.report.files += 1
        self.report.file_bytes += size
        self.report.disk_bytes += disk

    # --- rows -------------------------------------------------------------------------------

    def _processes(self) -> Iterator[list[tuple[int, _Process]]]:
        rows = ProcurementProcess.objects.order_by("pk").values_list(
            "pk",
            "identifier",
            "status",
            "published_at",
            "description",
            "entity_id",
            "entity__name",
            "entity__ruc",
        )
        chunk = []
        for position, row in enumerate(rows.iterator(chunk_size=CHUNK)):
            process = _Process(*row)
            if process.status == ProcessStatus.DRAFT:
                continue
            if not has_files(position, process.identifier, self.files_for_first):
                self.report.left_out += 1
                continue
            chunk.append((position, process))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def build(self) -> DocumentReport:
        """Create the documents, their files and the processes' publication dates: each
        chunk's stages and changes read here, its PDFs made and stored by a worker process
        (procurement.demo.workers; here on SQLite), its rows written here."""
        self._publisher_pk = None
        workers.run_chunks(
            self._processes(),
            self._read,
            self._build_chunk,
            self._write,
            parallel=workers.parallel_available(),
        )
        if self.written and hasattr(os, "sync"):
            os.sync()  # the files are durable before the transaction that names them commits
        self.report.disk_bytes += self._folders_on_disk()
        return self.report

    def _read(self, chunk):
        ids = [process.pk for _position, process in chunk]
        stages: dict[int, dict] = {pk: {} for pk in ids}
        for pk, stage, start, end in ProcessStage.objects.filter(
            process_id__in=ids, stage__in=STAGES
        ).values_list("process_id", "stage", "start", "end"):
            stages[pk][stage] = (start, end)
        changes: dict[int, list] = {pk: [] for pk in ids}
        for pk, at, to_status in (
            StatusChange.objects.filter(process_id__in=ids)
            .order_by("at", "pk")
            .values_list("process_id", "at", "to_status")
        ):
            changes[pk].append((at, to_status))
        if self._publisher_pk is None:
            self._publisher_pk = self._publisher(min(p.published_at for _i, p in chunk)).pk
        return chunk, stages, changes, self._publisher_pk

    def _build_chunk(self, _index: int, inputs):
        """The chunk's document rows, publication dates and the files stored (name, size,
        disk), in a worker process or this one."""
        chunk, stages, changes, publisher = inputs
        rows, published, self._stored = [], [], []
        try:
            for _position, process in chunk:
                made = self.documents_of(process, stages[process.pk], changes[process.pk])
                answers = integrated = None
                for kind, moment in made:
                    content = self.content(process, kind, moment)
                    sha256 = hashlib.sha256(content).hexdigest()
                    rows.append(
                        (
                            process.pk,
                            process.entity_id,
                            kind,
                            TITLES[kind],
                            self.store(content, sha256),
                            f"{FILE_STEMS[kind]}-{process.identifier}.pdf",
                            "application/pdf",
                            len(content),
                            sha256,
                            "",
                            moment,
                            publisher,
                        )
                    )
                    if kind == Kind.ANSWERS:
                        answers = moment
                    elif kind == Kind.INTEGRATED_BASES:
                        integrated = moment
                if answers or integrated:
                    published.append((process.pk, answers, integrated))
            return rows, published, self._stored, len(chunk)
        finally:
            self._stored = None

    def _write(self, built) -> None:
        rows, published, stored, processes = built
        for name, size, disk in stored:
            if name not in self.written:
                self._count(name, size, disk)
        _write_documents(rows)
        _mark_published(published)
        self.report.documents += len(rows)
        self.report.processes += processes

    def _folders_on_disk(self) -> int:
        """What the store's folders holding these files take (a 4 KB block each, on ext4)."""
        folders = set()
        for name in self.written:
            parts = name.split("/")[:-1]
            folders.update("/".join(parts[:depth]) for depth in range(1, len(parts) + 1))
        total = 0
        for folder in folders:
            try:
                total += os.stat(default_storage.path(folder)).st_blocks * 512
            except (NotImplementedError, OSError):
                return total
        return total

    def _publisher(self, first: datetime) -> User:
        """The account the imported documents are published by: the import itself, which
        cannot log in (the audit trail names it `seed_demo`)."""
        user, _created = User.objects.get_or_create(
            email=PUBLISHER_EMAIL,
            defaults={
                "full_name": "Publicación de la demostración (seed_demo)",
                "password": UNUSABLE_PASSWORD,
                "is_active": False,
                "date_joined": first - timedelta(days=1),
            },
        )
        return user


def _write_documents(rows: list[tuple]) -> None:
    if not rows:
        return
    model = ProcessDocument
    fields = [model._meta.get_field(name) for name in DOCUMENT_FIELDS]
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in fields)
        sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
        with connection.cursor() as cursor:
            raw = cursor.connection  # the psycopg 3 connection, in Django's transaction
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    model.objects.bulk_create(
        [
            model(**{field.attname: value for field, value in zip(fields, row, strict=True)})
            for row in rows
        ],
        batch_size=1000,
    )


def _mark_published(rows: list[tuple[int, datetime | None, datetime | None]]) -> None:
    """Record on each process when its answers and integrated bases came out."""
    if not rows:
        return
    table = connection.ops.quote_name(ProcurementProcess._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET answers_published_at = %s, "  # noqa: S608 - name from metadata
            "integrated_bases_published_at = %s WHERE id = %s",
            [(answers, integrated, pk) for pk, answers, integrated in rows],
        )
