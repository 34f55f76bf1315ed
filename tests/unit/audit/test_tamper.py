"""`audit verify` catches every kind of tampering and names the first bad event (AUD-2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from phivault.audit import service
from phivault.audit.chain import CHAINED_COLUMNS
from tests.support.tamper import raw_sql


def _tenant(env) -> str:
    return str(env.world.tenant_a)


def _report(env, checkpoint=None):
    (report,) = service.verify_all(env.vault, tenant=_tenant(env), checkpoint=checkpoint)
    return report


def test_untouched_chains_verify(env) -> None:
    reports = service.verify_all(env.vault)
    assert len(reports) == 3  # system, alpha, beta
    assert all(r.ok for r in reports)
    assert _report(env).events > 5


def test_altered_event_is_named(env) -> None:
    with raw_sql(env) as cur:
        cur.run(
            "UPDATE audit_events SET actor_id = ? WHERE tenant_id = ? AND seq = 3",
            ("00000000-0000-0000-0000-0000000000ff", _tenant(env)),
        )
    report = _report(env)
    assert not report.ok
    assert (report.problem.seq, report.problem.kind) == (3, "altered")


def test_altered_outcome_is_named(env) -> None:
    with raw_sql(env) as cur:
        cur.run(
            "UPDATE audit_events SET outcome = 'refused' WHERE tenant_id = ? AND seq = 4",
            (_tenant(env),),
        )
    assert (_report(env).problem.seq, _report(env).problem.kind) == (4, "altered")


def test_deleted_event_is_named(env) -> None:
    with raw_sql(env) as cur:
        cur.run("DELETE FROM audit_events WHERE tenant_id = ? AND seq = 3", (_tenant(env),))
    report = _report(env)
    assert (report.problem.seq, report.problem.kind) == (3, "missing")


def test_inserted_event_is_named(env) -> None:
    tenant = _tenant(env)
    columns = ", ".join([*CHAINED_COLUMNS, "prev_hash", "hash"])
    with raw_sql(env) as cur:
        row = cur.run(
            f"SELECT {columns} FROM audit_events WHERE tenant_id = ? AND seq = 3", (tenant,)
        )[0]
        # Make room at 3 by moving every later event up one, then slip a forged event in.
        last = cur.run("SELECT max(seq) FROM audit_events WHERE tenant_id = ?", (tenant,))[0][0]
        for seq in range(last, 2, -1):
            cur.run(
                "UPDATE audit_events SET seq = seq + 1 WHERE tenant_id = ? AND seq = ?",
                (tenant, seq),
            )
        forged = list(row)
        forged[CHAINED_COLUMNS.index("event_id")] = "forged-event"
        forged[CHAINED_COLUMNS.index("action")] = "record.read"
        marks = ", ".join("?" for _ in forged)
        cur.run(f"INSERT INTO audit_events ({columns}) VALUES ({marks})", tuple(forged))
    report = _report(env)
    assert report.problem.seq == 3
    assert report.problem.kind in {"altered", "chain-broken"}


def test_event_appended_without_the_key_is_named(env) -> None:
    tenant = _tenant(env)
    columns = ", ".join([*CHAINED_COLUMNS, "prev_hash", "hash"])
    with raw_sql(env) as cur:
        last_seq, last_hash = cur.run(
            "SELECT seq, hash FROM audit_events WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1",
            (tenant,),
        )[0]
        row = list(
            cur.run(
                f"SELECT {columns} FROM audit_events WHERE tenant_id = ? AND seq = 1", (tenant,)
            )[0]
        )
        row[1], row[2] = last_seq + 1, "appended-event"
        row[-2], row[-1] = last_hash, "0" * 64
        cur.run(
            f"INSERT INTO audit_events ({columns}) VALUES ({', '.join('?' for _ in row)})",
            tuple(row),
        )
        cur.run(
            "UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?",
            (last_seq + 1, "0" * 64, tenant),
        )
    report = _report(env)
    assert (report.problem.seq, report.problem.kind) == (last_seq + 1, "altered")


def test_reordered_events_are_named(env) -> None:
    tenant = _tenant(env)
    movable = [c for c in CHAINED_COLUMNS if c not in ("tenant_id", "seq", "event_id")]
    movable += ["prev_hash", "hash"]
    with raw_sql(env) as cur:
        cols = ", ".join(movable)
        two = cur.run(
            f"SELECT {cols} FROM audit_events WHERE tenant_id = ? AND seq = 2", (tenant,)
        )[0]
        three = cur.run(
            f"SELECT {cols} FROM audit_events WHERE tenant_id = ? AND seq = 3", (tenant,)
        )[0]
        assign = ", ".join(f"{c} = ?" for c in movable)
        cur.run(
            f"UPDATE audit_events SET {assign} WHERE tenant_id = ? AND seq = 2", (*three, tenant)
        )
        cur.run(f"UPDATE audit_events SET {assign} WHERE tenant_id = ? AND seq = 3", (*two, tenant))
    report = _report(env)
    assert report.problem.seq == 2
    assert report.problem.kind in {"chain-broken", "altered"}


def test_cut_tail_is_caught_by_the_head(env) -> None:
    tenant = _tenant(env)
    with raw_sql(env) as cur:
        last = cur.run("SELECT max(seq) FROM audit_events WHERE tenant_id = ?", (tenant,))[0][0]
        cur.run("DELETE FROM audit_events WHERE tenant_id = ? AND seq > ?", (tenant, last - 2))
    report = _report(env)
    assert (report.problem.seq, report.problem.kind) == (last - 1, "tail-cut")


def test_cut_tail_with_forged_head_is_caught_by_a_checkpoint(env, tmp_path: Path) -> None:
    tenant = _tenant(env)
    path = tmp_path / "checkpoint.json"
    service.create_checkpoint(env.vault, path)
    with raw_sql(env) as cur:
        last = cur.run("SELECT max(seq) FROM audit_events WHERE tenant_id = ?", (tenant,))[0][0]
        cur.run("DELETE FROM audit_events WHERE tenant_id = ? AND seq > ?", (tenant, last - 2))
        seq, digest = cur.run(
            "SELECT seq, hash FROM audit_events WHERE tenant_id = ? AND seq = ?", (tenant, last - 2)
        )[0]
        cur.run(
            "UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?", (seq, digest, tenant)
        )
    assert _report(env).ok  # the head was forged consistently: only the checkpoint can tell
    checkpoint = service.load_checkpoint(env.vault, path)
    report = _report(env, checkpoint)
    assert (report.problem.seq, report.problem.kind) == (last - 1, "tail-cut")


def test_checkpoint_must_be_signed_by_this_installation(env, tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.json"
    service.create_checkpoint(env.vault, path)
    text = path.read_text()
    digest = text.split('"hash": "')[1][:64]
    path.write_text(text.replace(digest, "f" * 64, 1))
    from phivault.errors import InvalidInput

    with pytest.raises(InvalidInput, match="not signed"):
        service.load_checkpoint(env.vault, path)


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events", "TRUNCATE audit_events"],
)
def test_postgres_application_role_cannot_rewrite_the_log(pg_env, statement: str) -> None:
    import sqlalchemy.exc
    from sqlalchemy import text

    from phivault.db.engine import Scope

    with (
        pytest.raises(sqlalchemy.exc.DBAPIError, match=r"permission denied|append-only"),
        pg_env.vault.db.transaction(Scope.everything()) as session,
    ):
        session.execute(text(statement))
    assert service.verify_all(pg_env.vault)[1].ok


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events", "TRUNCATE audit_events"],
)
def test_postgres_triggers_stop_even_the_table_owner(pg_env, statement: str) -> None:
    import psycopg

    from tests.support import pg

    with (
        psycopg.connect(pg.url_for(pg_env.database)) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"),
    ):
        conn.execute(statement)
