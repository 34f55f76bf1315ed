"""Guarded record read vs the same read with no guard, audit or decryption.

Library level, measured interleaved (A B / B A ... for several rounds, medians reported):

* guarded: ``vault.unit(...)`` + ``service.read_record`` - guard decision (standing and
  break-glass lookups), decryption of the tags and of every visible tier, the audit append
  (head read, event insert, head update) and the commit;
* bare: a transaction on the same engine (``vault.db.transaction`` with the tenant scope, so
  PostgreSQL's row-level security lets the row through), ``session.get(Record, pk)`` - the
  same ORM load the guarded read does - and the commit.

HTTP level, against a real uvicorn server (a separate process on a loopback port) and an
httpx keep-alive client: ``GET /api/v1/tenants/{t}/records/{id}`` vs a bare endpoint added to
the benchmark's own app instance that authenticates the same bearer token (authentication is
included on BOTH sides), selects the same row in a scoped transaction and returns the same
JSON shape (RecordOut) with the undecrypted tier ciphertexts base64-encoded as ``fields``.
For reference only it also times the bare endpoint without authentication and ``/health``.

Run: ``.venv/bin/python bench/guarded_read.py [--backend sqlite|postgres|both] [--size ...]``
"""

from __future__ import annotations

import base64
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from time import perf_counter
from typing import Annotated, Any

import common
from fastapi import Depends
from fastapi.responses import JSONResponse
from sqlalchemy import event

from phivault.access.policy import PurposeOfUse
from phivault.api.app import create_app
from phivault.api.deps import authenticate, declare
from phivault.api.schemas import RecordOut
from phivault.audit.actions import AuditAction
from phivault.bootstrap import open_vault
from phivault.config import Settings
from phivault.db.engine import Scope
from phivault.records import service
from phivault.records.models import Record
from phivault.vault import Vault

SIZES: dict[str, dict[str, int]] = {
    # rounds x per_round operations per side (library), http_rounds x http_per_round (HTTP)
    "small": {"rounds": 5, "per_round": 50, "http_rounds": 4, "http_per_round": 30},
    "default": {"rounds": 15, "per_round": 200, "http_rounds": 12, "http_per_round": 100},
    "large": {"rounds": 31, "per_round": 500, "http_rounds": 21, "http_per_round": 300},
}
TARGET_RATIO = 1.5
HERE = Path(__file__).resolve().parent
# Issue 9: the guard's own cost over the work a read cannot do without.
OVERHEAD_RATIO = 1.2


# -- library level -----------------------------------------------------------------------------
def _sides(vault: Vault, world: common.World) -> dict[str, Any]:
    records = world.records
    tenant = world.tenant_id
    actor = world.clinician
    purpose = PurposeOfUse.TREATMENT
    state = {"guarded": 0, "necessary": 0, "bare": 0}

    def guarded(n: int) -> None:
        i = state["guarded"]
        for k in range(i, i + n):
            with vault.unit(tenant, actor, purpose) as unit:
                view = service.read_record(unit, records[k % len(records)])
            assert view.fields
        state["guarded"] = i + n

    def bare(n: int) -> None:
        i = state["bare"]
        for k in range(i, i + n):
            with vault.db.transaction(Scope.tenant(tenant)) as session:
                row = session.get(Record, (tenant, records[k % len(records)]))
            assert row is not None
        state["bare"] = i + n

    def necessary(n: int) -> None:
        """What a guarded read cannot do without: load the row, decrypt its tags and tiers,
        append its audit event, commit (issue 9: the guard's overhead is judged against this)."""
        from phivault.audit import events
        from phivault.audit.events import ALLOWED, EventDraft
        from phivault.crypto.keyring import AUDIT_KEY_NAME
        from phivault.records.service import _TIER_COLUMN

        i = state["necessary"]
        for k in range(i, i + n):
            with vault.db.transaction(Scope.tenant(tenant)) as session:
                row = session.get(Record, (tenant, records[k % len(records)]))
                assert row is not None
                cipher = vault.keyring.for_tenant(session, tenant)
                cipher.decrypt_json("records", "tags_ct", row.id, row.tags_ct)
                for column in _TIER_COLUMN.values():
                    blob = getattr(row, column)
                    if blob is not None:
                        cipher.decrypt_json("records", column, row.id, blob)
                key = vault.keyring.system_key(session, AUDIT_KEY_NAME)
                events.append(session, key, EventDraft(
                    tenant_id=tenant, action=AuditAction.RECORD_READ, outcome=ALLOWED,
                    occurred_at=vault.clock(), actor_id=actor.member_id, session_id="bench",
                    resource_type="record", resource_id=row.id, person_id=row.person_id,
                    purpose="treatment", fields=("assessment_summary", "note_date", "text"),
                    source="bench",
                ), lock=vault.db.is_postgres)  # fmt: skip
        state["necessary"] = i + n

    return {"guarded": guarded, "necessary": necessary, "bare": bare}


def library_level(vault: Vault, world: common.World, size: dict[str, int]) -> common.Comparison:
    """guarded vs bare, plus the guarded read with the original audit append (the baseline
    for this round of optimisation: events.append before its driver-level rewrite)."""
    from audit_append import original_append

    from phivault.audit import events

    sides = _sides(vault, world)
    guarded = sides["guarded"]
    optimised = events.append

    def with_original_append(n: int) -> None:
        events.append = original_append
        try:
            guarded(n)
        finally:
            events.append = optimised

    sides["baseline: guarded, original append"] = with_original_append
    return common.interleave(sides, rounds=size["rounds"], per_round=size["per_round"], warmup=50)


def anatomy(vault: Vault, world: common.World, backend: str) -> dict[str, Any]:
    """What one warm read sends to the database, and what its parts cost.

    Statements are captured at the driver (sqlite3's trace callback; libpq's protocol trace
    on PostgreSQL, which also gives each round trip's wall time), so they include what
    SQLAlchemy's events do not see: psycopg's BEGIN, the pool's pre-ping and the audit
    append's driver-level statements.
    """
    sides = _sides(vault, world)
    sides["guarded"](20)
    sides["bare"](20)
    statements: dict[str, list[str]] = {}
    round_trips: dict[str, dict[str, float]] = {}
    reads = 50
    for name in ("guarded", "bare"):
        with _driver_trace(vault, backend) as trace:
            sides[name](2)
        labels = [label for label, _ in trace.items]
        # The second read's statements: the first's pool checkout (and its pre-ping on
        # PostgreSQL) happened before the trace was attached.
        statements[name] = labels[labels.index("COMMIT") + 1 :]
        with _driver_trace(vault, backend) as trace:
            sides[name](reads)
        if backend == "postgres":
            per_label: dict[str, float] = {}
            for label, seconds in trace.items:
                per_label[label] = per_label.get(label, 0.0) + seconds / reads
            round_trips[name] = per_label
    return {
        "statements": statements,
        "round_trips": round_trips,
        "components": components(vault, world),
    }


class _Trace:
    def __init__(self) -> None:
        self.items: list[tuple[str, float]] = []  # (statement label, round-trip seconds)


@contextmanager
def _driver_trace(vault: Vault, backend: str) -> Iterator[_Trace]:
    """Record every statement the pooled driver connections execute meanwhile."""
    engine = vault.db.engine
    trace = _Trace()
    if backend == "sqlite":

        def on_checkout(dbapi_connection: Any, *_: Any) -> None:
            dbapi_connection.set_trace_callback(lambda sql: trace.items.append((_label(sql), 0.0)))

        def on_checkin(dbapi_connection: Any, *_: Any) -> None:
            dbapi_connection.set_trace_callback(None)

        event.listen(engine, "checkout", on_checkout)
        event.listen(engine, "checkin", on_checkin)
        try:
            yield trace
        finally:
            event.remove(engine, "checkout", on_checkout)
            event.remove(engine, "checkin", on_checkin)
        return
    # PostgreSQL: libpq's protocol trace of each pooled connection, into unnamed temporary
    # files that are parsed (statement texts and timings only) and discarded.
    sinks: dict[int, tuple[Any, Any]] = {}

    def on_checkout_pg(dbapi_connection: Any, *_: Any) -> None:
        if id(dbapi_connection) not in sinks:
            sink = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
            sinks[id(dbapi_connection)] = (dbapi_connection, sink)
            dbapi_connection.pgconn.trace(sink.fileno())

    event.listen(engine, "checkout", on_checkout_pg)
    try:
        yield trace
    finally:
        event.remove(engine, "checkout", on_checkout_pg)
        for dbapi_connection, sink in sinks.values():
            dbapi_connection.pgconn.untrace()
            # psycopg prepares a statement after a few executions and then only sends its
            # name: look the names up in this connection's session.
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT name, statement FROM pg_prepared_statements")
                prepared = dict(cursor.fetchall())
            dbapi_connection.rollback()
            sink.seek(0)
            text = sink.read().decode("utf-8", "replace")
            sink.close()
            trace.items.extend(_parse_libpq_trace(text, prepared))


_MESSAGE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\t([FB])\t\d+\t(\w+)", re.M)
_QUOTED = re.compile(r'"(.*?)"(?=\s|$)', re.S)


def _parse_libpq_trace(text: str, prepared: dict[str, str]) -> list[tuple[str, float]]:
    """(statement, seconds from its first message to ReadyForQuery) for each round trip."""
    from datetime import datetime

    items: list[tuple[str, float]] = []
    started: datetime | None = None
    statement = ""
    parsed: dict[str, str] = {}
    marks = list(_MESSAGE.finditer(text))
    for i, mark in enumerate(marks):
        stamp, direction, kind = mark.groups()
        body = text[mark.end() : marks[i + 1].start() if i + 1 < len(marks) else len(text)]
        when = datetime.fromisoformat(stamp)
        if direction == "F":
            if started is None:
                started, statement = when, ""
            quoted = _QUOTED.findall(body)
            if kind == "Query" and quoted:
                statement = quoted[0]
            elif kind == "Parse" and len(quoted) >= 2:
                parsed[quoted[0]] = quoted[1]
                statement = statement or quoted[1]
            elif kind == "Bind" and len(quoted) >= 2 and not statement:
                name = quoted[1]
                statement = parsed.get(name) or prepared.get(name) or f"(prepared {name})"
        elif kind == "ReadyForQuery" and started is not None:
            items.append((_label(statement), (when - started).total_seconds()))
            started = None
    return items


def components(vault: Vault, world: common.World, rounds: int = 5) -> dict[str, float]:
    """Mean cost of each part of a guarded read, measured alone inside one open unit."""
    costs: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, seconds in _component_round(vault, world).items():
            costs.setdefault(name, []).append(seconds)
    return {name: statistics.median(values) for name, values in costs.items()}


def _component_round(vault: Vault, world: common.World) -> dict[str, float]:
    from phivault.access.policy import Permission
    from phivault.audit import events
    from phivault.audit.events import ALLOWED, EventDraft
    from phivault.crypto.keyring import AUDIT_KEY_NAME
    from phivault.records.service import _TIER_COLUMN, _load_record

    tenant = world.tenant_id
    records = world.records
    result: dict[str, float] = {}

    def timed(name: str, fn: Any) -> None:
        start = perf_counter()
        for record_id in records:
            fn(record_id)
        result[name] = (perf_counter() - start) / len(records)

    with vault.unit(tenant, world.clinician, PurposeOfUse.TREATMENT) as unit:
        session = unit.session
        loaded: dict[uuid.UUID, Record] = {}

        def load(record_id: uuid.UUID) -> None:
            loaded[record_id] = _load_record(
                unit, record_id, Permission.RECORDS_READ, AuditAction.RECORD_READ
            )

        timed("load the record, its person's mark, the break-glass lookup (one statement)", load)
        timed("standing query (guard)", lambda _r: unit.guard._load_standing())
        cipher = unit.cipher

        def decrypt(record_id: uuid.UUID) -> None:
            record = loaded[record_id]
            cipher.decrypt_json("records", "tags_ct", record.id, record.tags_ct)
            for column in _TIER_COLUMN.values():
                blob = getattr(record, column)
                if blob is not None:
                    cipher.decrypt_json("records", column, record.id, blob)

        timed("decrypt tags + 3 tiers (AES-GCM)", decrypt)
        key = vault.keyring.system_key(session, AUDIT_KEY_NAME)

        def append(record_id: uuid.UUID) -> None:
            events.append(session, key, EventDraft(
                tenant_id=tenant, action=AuditAction.RECORD_READ, outcome=ALLOWED,
                occurred_at=unit.now, actor_id=world.clinician.member_id,
                session_id="bench", resource_type="record", resource_id=record_id,
                person_id=loaded[record_id].person_id, purpose="treatment",
                fields=("assessment_summary", "note_date", "text"), source="bench",
            ), lock=vault.db.is_postgres)  # fmt: skip

        timed("audit append (head read, insert, head update)", append)
    return result


def _label(statement: str) -> str:
    words = " ".join(statement.split())
    upper = words.upper()
    if upper.startswith("SELECT SET_CONFIG"):
        return "SELECT set_config(app.tenant_id, app.scope)"
    if upper.startswith("SELECT MEMBERS.STATUS"):
        return "SELECT standing (members JOIN tenant_grants JOIN positions JOIN role_categories)"
    if upper.startswith("SELECT RECORDS.TENANT_ID") and "BREAK_GLASS" in upper:
        return "SELECT record + person's voided mark + break-glass grant (one statement)"
    if upper.startswith("SELECT API_TOKENS.ID"):
        return "SELECT token (api_tokens JOIN members)"
    if upper.startswith("WITH INSERTED AS (INSERT INTO AUDIT_EVENTS"):
        return "INSERT INTO audit_events + UPDATE audit_heads (one statement)"
    if upper.startswith("SELECT"):
        table = words.split(" FROM ", 1)[1].split()[0] if " FROM " in words else "?"
        tail = " FOR UPDATE" if upper.endswith("FOR UPDATE") else ""
        return f"SELECT ... FROM {table} WHERE ...{tail}"
    if upper.startswith(("INSERT INTO ", "UPDATE ")):
        verb = "INSERT INTO" if upper.startswith("INSERT") else "UPDATE"
        table = words[len(verb) + 1 :].split()[0]
        return f"{verb} {table}"
    if words in ("", ";"):
        return "; (pool pre-ping)"
    return words[:40]


# -- HTTP level --------------------------------------------------------------------------------
def serve(home: str, database_url: str, port: int) -> None:
    """The server process: phivault's app plus the benchmark's bare endpoints."""
    import uvicorn

    settings = Settings(home=Path(home), database_url=database_url or None)
    vault = open_vault(settings)
    app = create_app(vault)

    def bare_read(tenant_id: uuid.UUID, record_id: uuid.UUID) -> RecordOut | JSONResponse:
        with vault.db.transaction(Scope.tenant(tenant_id)) as session:
            r = session.get(Record, (tenant_id, record_id))
            if r is None:
                return JSONResponse({"detail": "not found"}, status_code=404)
            return RecordOut(
                id=r.id,
                person_id=r.person_id,
                record_type=r.record_type,
                version=r.version,
                sensitivity=[],
                fields={
                    column: base64.b64encode(blob).decode()
                    for column in ("minimum_ct", "summary_ct", "full_ct")
                    if (blob := getattr(r, column)) is not None
                },
                break_glass=False,
            )

    @app.get(
        "/bench/bare/tenants/{tenant_id}/records/{record_id}",
        openapi_extra=declare("public"),
        response_model=RecordOut,
    )
    def bare_authenticated(
        tenant_id: uuid.UUID,
        record_id: uuid.UUID,
        principal: Annotated[Any, Depends(authenticate)],
    ) -> RecordOut | JSONResponse:
        return bare_read(tenant_id, record_id)

    @app.get(
        "/bench/bare-noauth/tenants/{tenant_id}/records/{record_id}",
        openapi_extra=declare("public"),
        response_model=RecordOut,
    )
    def bare_unauthenticated(tenant_id: uuid.UUID, record_id: uuid.UUID) -> Any:
        return bare_read(tenant_id, record_id)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(inst: common.Installation) -> tuple[subprocess.Popen[bytes], int, Any]:
    """phivault's app (plus the bare endpoints) in a uvicorn process on a free loopback port;
    returns the process, the port and its log file."""
    port = _free_port()
    log = tempfile.NamedTemporaryFile(prefix="phivault-bench-server-", suffix=".log")  # noqa: SIM115
    server = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve",
            str(inst.settings.home),
            inst.settings.database_url or "",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(common.SRC), str(HERE)])},
    )
    return server, port, log


def stop_server(server: subprocess.Popen[bytes], log: Any) -> None:
    """Stop a server :func:`start_server` started (killed if it does not stop in 10 s)."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    log.close()


def http_level(
    inst: common.Installation, world: common.World, size: dict[str, int]
) -> common.Comparison:
    import httpx

    server, port, log = start_server(inst)
    headers = {
        "Authorization": f"Bearer {world.clinician_token}",
        "X-Purpose-Of-Use": "treatment",
    }
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            _wait_ready(client, server, log.name)
            t = world.tenant_id
            records = world.records
            paths = {
                "guarded": f"/api/v1/tenants/{t}/records/",
                "bare": f"/bench/bare/tenants/{t}/records/",
                "bare, no auth": f"/bench/bare-noauth/tenants/{t}/records/",
            }
            first = {name: client.get(path + str(records[0])) for name, path in paths.items()}
            for name, response in first.items():
                if response.status_code != 200:
                    raise RuntimeError(f"{name}: HTTP {response.status_code}")
            shapes = {name: sorted(r.json()) for name, r in first.items()}
            if len({tuple(s) for s in shapes.values()}) != 1:
                raise RuntimeError(f"the JSON shapes differ: {shapes}")
            counters = dict.fromkeys([*paths, "/health"], 0)

            def side(name: str) -> Any:
                def run(n: int) -> None:
                    i = counters[name]
                    for k in range(i, i + n):
                        path = (
                            "/health"
                            if name == "/health"
                            else paths[name] + str(records[k % len(records)])
                        )
                        response = client.get(path)
                        if response.status_code != 200:
                            raise RuntimeError(f"{name}: HTTP {response.status_code}")
                    counters[name] = i + n

                return run

            return common.interleave(
                {name: side(name) for name in counters},
                rounds=size["http_rounds"],
                per_round=size["http_per_round"],
                warmup=30,
            )
    finally:
        stop_server(server, log)


def _wait_ready(client: Any, server: subprocess.Popen[bytes], log_path: str) -> None:
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(
                f"the benchmark server exited ({server.returncode}): "
                + Path(log_path).read_text()[-2000:]
            )
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the benchmark server did not start within 30 s")


# -- reporting ---------------------------------------------------------------------------------
def run(backend: str, size_name: str) -> dict[str, Any]:
    size = SIZES[size_name]
    with common.installation(backend) as inst:
        vault, world = common.build_world(inst.settings)
        vault.db.dispose()
        vault = open_vault(inst.settings)  # a fresh pool, as a server would start
        try:
            lib = library_level(vault, world, size)
            parts = anatomy(vault, world, backend)
        finally:
            vault.db.dispose()
        web = http_level(inst, world, size)
    lib_ratio = lib.ratio("guarded", "bare")
    overhead = lib.ratio("guarded", "necessary")
    web_ratio = web.ratio("guarded", "bare")
    return {
        "backend": backend,
        "library": lib,
        "http": web,
        "anatomy": parts,
        "checks": [
            (backend, "guarded read / bare read (library)", f"{lib_ratio:.2f}x",
             f"<= {TARGET_RATIO}x", lib_ratio <= TARGET_RATIO),
            (backend, "guarded read / read + decrypt + audit append (library)",
             f"{overhead:.2f}x", f"<= {OVERHEAD_RATIO}x", overhead <= OVERHEAD_RATIO),
            (backend, "guarded read / bare read (HTTP, auth on both)", f"{web_ratio:.2f}x",
             f"<= {TARGET_RATIO}x", web_ratio <= TARGET_RATIO),
        ],
    }  # fmt: skip


def report(result: dict[str, Any]) -> str:
    backend = result["backend"]
    lib: common.Comparison = result["library"]
    web: common.Comparison = result["http"]
    parts = result["anatomy"]
    n_lib = len(lib.rounds["guarded"])
    n_web = len(web.rounds["guarded"])
    out = [f"### Guarded read - {backend}", ""]
    rows = []
    for name in lib.names:
        rr = lib.round_ratios(name, "bare")
        rows.append([
            name, common.us(lib.median(name)), common.rate(1, lib.median(name)),
            f"{lib.ratio(name, 'bare'):.2f}x", f"{min(rr):.2f}-{max(rr):.2f}x",
        ])  # fmt: skip
    out += [
        f"Library level, {n_lib} interleaved rounds (median of per-round means):",
        "",
        common.table(["side", "per read", "reads/s", "vs bare", "per-round range"], rows),
        "",
    ]
    rows = []
    for name in web.names:
        rr = web.round_ratios(name, "bare")
        rows.append([
            name, common.us(web.median(name)), common.rate(1, web.median(name)),
            f"{web.ratio(name, 'bare'):.2f}x", f"{min(rr):.2f}-{max(rr):.2f}x",
        ])  # fmt: skip
    out += [
        f"HTTP level (uvicorn process + httpx keep-alive client), {n_web} interleaved rounds; "
        "'guarded' and 'bare' both authenticate the bearer token:",
        "",
        common.table(["request", "latency", "requests/s", "vs bare", "per-round range"], rows),
        "",
    ]
    guarded_stmts = parts["statements"]["guarded"]
    bare_stmts = parts["statements"]["bare"]
    trips = parts["round_trips"]
    headers = ["#", "guarded read", "bare read"]
    rows = [
        [i + 1, g, bare_stmts[i] if i < len(bare_stmts) else ""]
        for i, g in enumerate(guarded_stmts)
    ]
    note = ""
    if trips:
        # Per-statement wall time of the round trip, from libpq's trace (mean per read).
        headers = ["#", "guarded read", "round trip", "bare read", "round trip"]
        rows = [
            [i + 1, g, common.us(trips["guarded"].get(g, 0.0)),
             bare_stmts[i] if i < len(bare_stmts) else "",
             common.us(trips["bare"].get(bare_stmts[i], 0.0)) if i < len(bare_stmts) else ""]
            for i, g in enumerate(guarded_stmts)
        ]  # fmt: skip
        total_g, total_b = sum(trips["guarded"].values()), sum(trips["bare"].values())
        rows.append(["", "total in round trips", common.us(total_g), "", common.us(total_b)])
        note = (
            " Round-trip times come from libpq's trace (first message sent to ReadyForQuery "
            "received, mean over 50 reads; a statement appearing twice is counted once with "
            "both times)."
        )
    out += [
        f"Statements per warm read, captured at the driver: guarded {len(guarded_stmts)}, "
        f"bare {len(bare_stmts)}.{note}",
        "",
        common.table(headers, rows),
        "",
    ]
    guarded = lib.median("guarded")
    comp = parts["components"]
    rows = [
        [label, common.us(t), f"{t / guarded:.0%}"]
        for label, t in sorted(comp.items(), key=lambda kv: -kv[1])
    ]
    rest = guarded - sum(comp.values())
    rows.append(["rest: session, transaction (BEGIN/COMMIT), unit, guard logic", common.us(rest),
                 f"{rest / guarded:.0%}"])  # fmt: skip
    rows.append(["guarded read (median above)", common.us(guarded), "100%"])
    out += [
        "Where a guarded read's time goes (each part timed alone, repeated inside one open "
        "unit; the rest is the guarded read's median minus their sum):",
        "",
        common.table(["part", "per read", "share"], rows),
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    results = []
    for backend in common.backends(args.backend):
        result = run(backend, args.size)
        print(report(result), flush=True)
        results.append(result)
    return results


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
