"""Concurrent guarded work keeps every tenant's chain intact and gap-free."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from phivault.access.policy import PurposeOfUse
from phivault.audit import service as audit_service
from phivault.records import service
from tests.support.audit import events

THREADS = 4
OPS = 15


def test_parallel_reads_and_writes_chain_cleanly(env) -> None:
    w = env.world
    before = len(events(env.vault, w.tenant_a))

    def work(n: int) -> None:
        persona = ("clinician", "coder", "scheduler", "officer")[n % 4]
        for i in range(OPS):
            with env.vault.unit(w.tenant_a, w[persona].actor, PurposeOfUse.TREATMENT) as unit:
                if i % 3 == 0 and persona in ("clinician", "officer"):
                    service.do_create_record(
                        unit,
                        person_id=w.patient,
                        type_name="clinical_note",
                        fields={"note_date": "2026-01-02"},
                    )
                else:
                    service.read_record(unit, w.records["care_plan"])

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(work, range(THREADS)))
    after = events(env.vault, w.tenant_a)
    assert len(after) == before + THREADS * OPS
    assert [e.seq for e in after] == list(range(1, len(after) + 1))
    assert all(r.ok for r in audit_service.verify_all(env.vault))
