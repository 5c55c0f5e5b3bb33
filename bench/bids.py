"""The last minute before a deadline: concurrent bidders submitting and replacing sealed bids.

`python -m bench bids` (or `make bench`, after the seeding figures). In the scratch database
(bench/__main__.py): one entity, BENCH_BID_PROCESSES called processes (default 2) whose bid
stage is open now, BENCH_BID_CLIENTS supplier companies (default 20) registered in one of them,
each with a user whose password is hashed by the real hasher of the settings. The portal is
served for real on loopback by gunicorn (config.wsgi, DEBUG off, production settings, 4 sync
workers, two per core; BENCH_BID_WORKERS; run it with CACHE_URL set to a Redis, as production
runs, and the sessions are read through that shared cache). Each client thread logs in
through the login page (one password hash: that opens the fresh re-authentication window),
uploads one small PDF into its draft envelope, goes once through the whole browser flow (bid
page, review, confirmation), then for BENCH_BID_SECONDS (default 60) repeats: bid page (a
fresh form token), submit (a replacement).

Printed: submissions and replacements per second, p50/p95/max of the submission request,
errors (non-2xx or no receipt hash in the answer), ledger entries against receipts received
(none lost), verify_receipts and verify_audit, the time of one password hash, the CPU of the
gunicorn workers and of their PostgreSQL backends (in all, and per bid page + submission: a
figure the machine's other load barely changes, and the rate two idle cores would sustain at
it), and an in-process measure of how long each submission holds the ledger's
lock (the chain serialises submissions: its inverse is a ceiling on throughput).
"""

import contextlib
import html.parser
import http.client
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path

from bench import production

PASSWORD = "Licitacion-2026-bench!"  # noqa: S105 - a scratch database's bench users
RECEIPT_RE = re.compile(r'id="receipt-hash">([0-9a-f]{64})<')


# --- a small browser: cookies (also the Secure ones: TLS ends at the proxy), forms ----------


class Forms(html.parser.HTMLParser):
    """The forms of a page: action -> list of (name, value) a browser would send."""

    def __init__(self):
        super().__init__()
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self._current = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._current = self.forms.setdefault(attrs.get("action") or "", [])
        elif tag == "input" and self._current is not None and attrs.get("name"):
            kind = (attrs.get("type") or "text").lower()
            if kind in {"checkbox", "radio"} and "checked" not in attrs:
                return
            if kind in {"submit", "file"}:
                return
            self._current.append((attrs["name"], attrs.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


class Browser:
    """One bidder's browser behind the TLS proxy (X-Forwarded-Proto/For, as production)."""

    def __init__(self, port: int, address: str):
        self.port, self.address = port, address
        self.cookies: dict[str, str] = {}

    def request(self, method, path, body=None, content_type=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {
            "Host": f"127.0.0.1:{self.port}",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": self.address,
            "Accept-Language": "es",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            headers["Origin"] = f"https://127.0.0.1:{self.port}"
            headers["Referer"] = f"https://127.0.0.1:{self.port}{path}"
            headers["Content-Type"] = content_type or "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, response.getheader("Location"), text
        finally:
            conn.close()

    def get_forms(self, path):
        status, _location, text = self.request("GET", path)
        parser = Forms()
        parser.feed(text)
        return status, parser.forms

    def post(self, path, fields):
        return self.request("POST", path, urllib.parse.urlencode(fields))

    def post_file(self, path, fields, name, filename, data: bytes):
        boundary = "----bench" + os.urandom(8).hex()
        parts = []
        for key, value in fields:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
            )
        parts.append(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(
            "POST", path, b"".join(parts), f"multipart/form-data; boundary={boundary}"
        )


# --- setup ---------------------------------------------------------------------------------


def _setup(clients: int, processes: int):
    """Reference data is loaded; build the entity, processes and bidders. Returns
    [(email, process identifier)] one per client."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import User
    from core import clock, keys
    from procurement.models import ProcessStage
    from tests.procurement.bidding import called_tender

    keys.portal_signing_key_pem()  # generated once into the scratch VAR_DIR, read by the server
    keys.bid_master_key()
    tenders = [called_tender(items=2) for _ in range(processes)]
    today = clock.today()
    for tender in tenders:  # the bid stage open now (its deadline a few days ahead)
        ProcessStage.objects.filter(pk=tender.bids_stage.pk).update(
            start=today, end=today + timedelta(days=3), closing_time=None
        )
    bidders = []
    for n in range(clients):
        tender = tenders[n % processes]
        _supplier, user = tender.bidder(size_class="small")
        bidders.append((user.email, tender.process.identifier))
    # The password hashed once by the settings' hasher (a login checks it at full cost).
    User.objects.filter(email__in=[email for email, _ in bidders]).update(
        password=make_password(PASSWORD)
    )
    return bidders


# --- the server ----------------------------------------------------------------------------


def _server_env(port: int) -> dict:
    """Production's settings (bench/production.py, the keys of the scratch VAR_DIR), even
    under BENCH_DEBUG: the server is what production runs."""
    var = Path(os.environ["VAR_DIR"])
    return {
        **os.environ,
        **production.environment(var),
        "SITE_URL": f"https://127.0.0.1:{port}",
        "EMAIL_URL": f"file://{var / 'mail'}",
        "LOG_LEVEL": "ERROR",
        # Each worker keeps its connection for the whole run (production renews it every
        # minute), so the CPU of its PostgreSQL backend can be read before and after.
        "DB_CONN_MAX_AGE": "3600",
    }


def _start_server(port: int, workers: int):
    env = _server_env(port)
    venv_bin = Path(sys.executable).parent
    production.collect_static(env)
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        [
            str(venv_bin / "gunicorn"),
            "config.wsgi",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            "--backlog=256",
            "--timeout=120",
            "--log-level=warning",
        ],
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request(
                "GET", "/recibos/clave-publica.pem", headers={"X-Forwarded-Proto": "https"}
            )
            if conn.getresponse().status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    server.terminate()
    raise RuntimeError("gunicorn did not answer within 60 s")


def _cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and its children that are still alive (the workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


def _backend_pids() -> list[int]:
    """The PostgreSQL backends serving the bench database, but this process's own."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


def _backends_cpu(pids) -> tuple[float, int]:
    """User+system CPU seconds of these backends (PostgreSQL runs on this machine), and how
    many of them are still alive."""
    tick, total, alive = os.sysconf("SC_CLK_TCK"), 0.0, 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        alive += 1
    return total, alive


# --- one bidder ----------------------------------------------------------------------------


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.receipts: list[str] = []
        self.errors: list[str] = []
        self.login_seconds: list[float] = []

    def error(self, text):
        with self.lock:
            self.errors.append(text)


def _pdf(n: int) -> bytes:
    return f"%PDF-1.7\n1 0 obj << /Contents (oferta tecnica {n}) >> endobj\n%%EOF\n".encode()


def _offer_fields(fields, unit: str):
    return [(k, unit if k.startswith("price_") else v) for k, v in fields]


def _bidder(n, port, email, identifier, tally: Tally, ready: threading.Barrier):
    browser = Browser(port, f"10.0.{n // 250}.{n % 250 + 1}")
    bid_path = f"/procesos/{identifier}/oferta/"
    submit_path = f"/procesos/{identifier}/oferta/enviar/"
    try:
        _status, forms = browser.get_forms("/cuentas/ingresar/")
        login = dict(forms.get("", []))
        login.update(username=email, password=PASSWORD)
        started = time.perf_counter()
        status, location, _text = browser.post("/cuentas/ingresar/", login)
        tally.login_seconds.append(time.perf_counter() - started)
        if status != 302:
            raise RuntimeError(f"login answered {status}")
        _status, forms = browser.get_forms(bid_path)
        upload = forms[f"/procesos/{identifier}/oferta/documentos/"]
        upload = [(k, v) for k, v in upload if k != "title"] + [("title", "Propuesta técnica")]
        status, _location, _text = browser.post_file(
            f"/procesos/{identifier}/oferta/documentos/", upload, "file", "oferta.pdf", _pdf(n)
        )
        if status != 302:
            raise RuntimeError(f"upload answered {status}")
        # Once the whole browser flow: the offer, its review, the confirmation.
        _status, forms = browser.get_forms(bid_path)
        status, _location, text = browser.post(bid_path, _offer_fields(forms[bid_path], "100.00"))
        parser = Forms()
        parser.feed(text)
        if status != 200 or submit_path not in parser.forms:
            raise RuntimeError(f"review answered {status}")
        status, _location, text = browser.post(submit_path, parser.forms[submit_path])
        if status != 200 or not RECEIPT_RE.search(text):
            raise RuntimeError(f"first submission answered {status}")
        with tally.lock:
            tally.receipts.append(RECEIPT_RE.search(text).group(1))
    except Exception as error:  # noqa: BLE001 - counted and printed
        tally.error(f"client {n} setup: {error}")
        ready.abort()
        return
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        return
    round_ = 0
    while time.monotonic() < _shared_stop["at"]:
        round_ += 1
        try:
            _status, forms = browser.get_forms(bid_path)
            fields = _offer_fields(forms[bid_path], f"{100 + round_ % 900}.{n % 100:02d}")
            started = time.perf_counter()
            status, _location, text = browser.post(submit_path, fields)
            elapsed = time.perf_counter() - started
            found = RECEIPT_RE.search(text)
            if status != 200 or not found:
                tally.error(f"client {n}: submission answered {status}, receipt {bool(found)}")
                continue
            with tally.lock:
                tally.latencies.append(elapsed)
                tally.receipts.append(found.group(1))
        except Exception as error:  # noqa: BLE001 - counted and printed
            tally.error(f"client {n}: {error}")


# --- what limits it ------------------------------------------------------------------------


def _hash_seconds() -> float:
    from django.contrib.auth.hashers import check_password, make_password

    encoded = make_password(PASSWORD)
    started = time.perf_counter()
    for _ in range(3):
        check_password(PASSWORD, encoded)
    return (time.perf_counter() - started) / 3


def _lock_hold(email: str, identifier: str, rounds: int = 20) -> dict:
    """In this process, submissions one after another: the whole service call, and how long
    its transaction holds the ledger's advisory lock (from taking it to the commit)."""
    from django.db import transaction

    from accounts.models import User
    from procurement import receipts
    from procurement.models import ProcurementProcess
    from procurement.services import bids

    user = User.objects.get(email=email)
    supplier = user.memberships.get().supplier
    process = ProcurementProcess.objects.get(identifier=identifier)
    documents = [d.pk for d, _meta, _sent in bids.envelope_documents(process, supplier)]
    if not documents:  # the client never got as far as its upload
        from tests.procurement.bidding import pdf

        documents = [bids.upload_draft_document(user, process, supplier, pdf(), title="T").pk]
    prices = {item.pk: "123.45" for item in process.items.all()}
    original = receipts.append_to_ledger
    marks: dict = {}

    def timed_append(**kwargs):
        marks["locked"] = time.perf_counter()  # uncontended here: taken at once
        return original(**kwargs)

    totals, holds = [], []
    receipts.append_to_ledger = timed_append
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            with transaction.atomic():
                bids.submit_bid(user, process, supplier, prices=prices, documents=documents)
                transaction.on_commit(lambda: marks.__setitem__("committed", time.perf_counter()))
            totals.append(time.perf_counter() - started)
            holds.append(marks["committed"] - marks["locked"])
    finally:
        receipts.append_to_ledger = original
    return {"total": statistics.median(totals), "hold": statistics.median(holds)}


# --- the benchmark -------------------------------------------------------------------------


def _percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def run():
    """Run the bids benchmark in the (already migrated, reference-loaded) scratch database;
    yield (label, figure) lines as they are measured."""
    from django.core.management import CommandError, call_command
    from django.db import connections

    from procurement.models import ReceiptLedgerEntry

    clients = int(os.environ.get("BENCH_BID_CLIENTS", "20"))
    seconds = float(os.environ.get("BENCH_BID_SECONDS", "60"))
    processes = int(os.environ.get("BENCH_BID_PROCESSES", "2"))
    workers = int(os.environ.get("BENCH_BID_WORKERS", "4"))
    port = int(os.environ.get("BENCH_BID_PORT", "8765"))

    bidders = _setup(clients, processes)
    ledger_before = ReceiptLedgerEntry.objects.count()
    connections.close_all()
    server = _start_server(port, workers)
    tally = Tally()
    try:
        ready = threading.Barrier(clients + 1)
        threads = [
            threading.Thread(
                target=_bidder,
                args=(n, port, email, identifier, tally, ready),
                daemon=True,
            )
            for n, (email, identifier) in enumerate(bidders)
        ]
        for thread in threads:
            thread.start()
        with contextlib.suppress(threading.BrokenBarrierError):
            ready.wait(timeout=600)
        backends = _backend_pids()
        _shared_stop["at"] = time.monotonic() + seconds  # the clients read it at each round
        database_before, _alive = _backends_cpu(backends)
        cpu_before, started = _cpu_seconds(server.pid), time.perf_counter()
        for thread in threads:
            thread.join(timeout=seconds + 300)
        wall = time.perf_counter() - started
        cpu = _cpu_seconds(server.pid) - cpu_before
        database_after, alive = _backends_cpu(backends)
        database = database_after - database_before
    finally:
        server.terminate()
        server.wait(timeout=30)
    done = len(tally.latencies)
    received = len(tally.receipts)
    ledger_new = ReceiptLedgerEntry.objects.count() - ledger_before
    yield ("bid clients x seconds (gunicorn workers)", f"{clients} x {seconds:g} ({workers})")
    yield ("machine load (1-min average) at the end", f"{os.getloadavg()[0]:.2f}")
    yield ("submissions+replacements per second", f"{done / wall:.1f}")
    if done:
        yield ("  submission request p50 (s)", f"{statistics.median(tally.latencies):.3f}")
        yield ("  submission request p95 (s)", f"{_percentile(tally.latencies, 0.95):.3f}")
        yield ("  submission request max (s)", f"{max(tally.latencies):.3f}")
    yield ("  errors (non-2xx or no receipt)", str(len(tally.errors)))
    yield ("  receipts received / new ledger entries", f"{received} / {ledger_new}")
    yield ("  lost receipts", str(max(0, ledger_new - received) + max(0, received - ledger_new)))
    yield ("  gunicorn CPU (s of CPU per s, 2 cores)", f"{cpu / wall:.2f}")
    yield (
        f"  PostgreSQL CPU (s per s; {alive}/{len(backends)} backends)",
        f"{database / wall:.2f}",
    )
    if done:
        # Bid page + submission: the server's whole cost of one replacement, whatever the
        # machine's other load, and the rate two idle cores would sustain at it.
        per = (cpu + database) / done
        yield ("  gunicorn CPU per bid page + submission (ms)", f"{cpu / done * 1000:.1f}")
        yield ("  PostgreSQL CPU per bid page + submission (ms)", f"{database / done * 1000:.1f}")
        yield ("  => rate on 2 idle cores at that CPU (per s)", f"{2 / per:.0f}")
    if tally.login_seconds:
        yield ("login request, mean (s)", f"{statistics.mean(tally.login_seconds):.3f}")
    for error in tally.errors[:5]:
        yield ("  error", error)
    for name in ("verify_receipts", "verify_audit"):
        try:
            call_command(name, verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
            yield (f"manage.py {name}", "ok")
        except (SystemExit, CommandError) as failure:
            yield (f"manage.py {name}", f"FAILED ({failure})")
    yield ("one password hash (settings' hasher, s)", f"{_hash_seconds():.3f}")
    if os.environ.get("BENCH_BID_PROFILE"):  # a file: cProfile of in-process submissions
        import cProfile

        profile = cProfile.Profile()
        profile.runcall(_lock_hold, *bidders[0])
        profile.dump_stats(os.environ["BENCH_BID_PROFILE"])
    hold = _lock_hold(*bidders[0])
    yield ("submit_bid in-process, one at a time (s)", f"{hold['total']:.4f}")
    yield ("  ledger lock held per submission (s)", f"{hold['hold']:.4f}")
    yield ("  => ceiling from the chain's lock (per s)", f"{1 / hold['hold']:.0f}")


_shared_stop: dict = {"at": float("inf")}
