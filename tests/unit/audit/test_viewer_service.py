"""The services behind the audit viewer: names of actors, the recorded verification result,
and CSV export rows that carry no PHI and cannot run as spreadsheet formulas."""

from __future__ import annotations

from phivault.access.policy import PurposeOfUse
from phivault.audit import service as audit
from phivault.records import service
from tests.support.tamper import raw_sql


def _officer(env):
    return env.vault.unit(env.world.tenant_a, env.world["officer"].actor)


def test_page_names_its_actors(env) -> None:
    with env.vault.unit(env.world.tenant_a, env.world["coder"].actor, PurposeOfUse.PAYMENT) as unit:
        service.read_person(unit, env.world.patient)
    with _officer(env) as unit:
        page = audit.audit_page(unit, audit.EventFilter(action="person.read", limit=5))
    coder = str(env.world["coder"].member_id)
    assert page.entries[0]["actor_id"] == coder
    assert page.actor_names[coder]  # a display name, not an id
    assert page.verification is None


def test_verification_result_is_recorded_and_shown(env) -> None:
    report = audit.verify_tenant_chain(lambda: _officer(env))
    assert report.ok
    with _officer(env) as unit:
        last = audit.audit_page(unit, audit.EventFilter(limit=1)).verification
    assert last is not None and last.intact and last.problem is None
    assert last.events == report.events
    assert last.actor_id == str(env.world["officer"].member_id)


def test_a_broken_chain_is_recorded_with_its_first_bad_entry(env) -> None:
    with raw_sql(env) as cur:
        cur.run(
            "UPDATE audit_events SET action = 'person.list' WHERE tenant_id = ? AND seq = 3",
            (str(env.world.tenant_a),),
        )
    report = audit.verify_tenant_chain(lambda: _officer(env))
    assert not report.ok
    with _officer(env) as unit:
        last = audit.audit_page(unit, audit.EventFilter(limit=1)).verification
    assert last is not None and not last.intact
    assert (last.problem, last.first_bad_event) == ("altered", 3)


def _export(env, flt=None):  # type: ignore[no-untyped-def]
    with _officer(env) as unit:
        export = audit.begin_export(unit, flt or audit.EventFilter())
    return export, list(audit.export_rows(env.vault, export))


def test_export_rows_carry_ids_and_field_names_only(env) -> None:
    export, rows = _export(env)
    assert not export.truncated and export.rows == len(rows) > 0
    assert len(rows[0]) == len(audit.EXPORT_HEADER)
    text = repr(rows)
    for secret in env.world.secrets.values():
        assert secret not in text
    # The export itself is audited, with its size.
    with _officer(env) as unit:
        event = audit.query_events(unit, audit.EventFilter(action="audit.export", limit=1))[0]
    assert event["fields"] == [f"rows:{len(rows)}"]


def test_export_says_when_it_was_cut(env, monkeypatch) -> None:
    monkeypatch.setattr(audit, "MAX_EXPORT", 3)
    export, rows = _export(env)
    assert len(rows) == 3 and export.truncated


def test_an_export_streams_what_was_decided_even_as_the_trail_grows(env) -> None:
    """Entries appended after the export was decided (its own audit event among them) are not
    in it: the rows streamed are those counted and audited, newest first."""
    export, _ = _export(env)
    with _officer(env) as unit:  # more entries meanwhile
        audit.query_events(unit, audit.EventFilter(limit=1))
    rows = list(audit.export_rows(env.vault, export))
    seqs = [int(r[audit.EXPORT_HEADER.index("seq")]) for r in rows]
    assert len(rows) == export.rows and max(seqs) == export.upto_seq
    assert seqs == sorted(seqs, reverse=True)


def test_an_export_reads_in_batches_from_a_snapshot(env) -> None:
    export, everything = _export(env)
    assert list(audit.export_rows(env.vault, export, batch=2)) == everything


def test_cells_that_look_like_formulas_are_defused() -> None:
    assert audit._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert audit._cell("+1") == "'+1"
    assert audit._cell("@SUM") == "'@SUM"
    assert audit._cell("record.read") == "record.read"
    assert audit._cell(None) == ""
