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


def test_export_rows_carry_ids_and_field_names_only(env) -> None:
    with _officer(env) as unit:
        rows, truncated = audit.export_rows(unit, audit.EventFilter())
    assert not truncated
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
    with _officer(env) as unit:
        rows, truncated = audit.export_rows(unit, audit.EventFilter())
    assert len(rows) == 3 and truncated


def test_cells_that_look_like_formulas_are_defused() -> None:
    assert audit._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert audit._cell("+1") == "'+1"
    assert audit._cell("@SUM") == "'@SUM"
    assert audit._cell("record.read") == "record.read"
    assert audit._cell(None) == ""
