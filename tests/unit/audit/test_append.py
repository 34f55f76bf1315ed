"""The append's shortcuts keep the chain exact: the cached HMAC signer, and (PostgreSQL) the
write that trusts the head this process last wrote only if the server confirms it."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.exc import DBAPIError

from phivault.audit import chain, events, service
from phivault.audit.actions import AuditAction
from phivault.audit.events import ALLOWED, EventDraft
from phivault.db.engine import Scope, driver_execute
from tests.support.audit import events as chain_events


@pytest.mark.parametrize("size", [0, 1, 16, 32, 64, 65, 200])
def test_signer_is_hmac_sha256(size: int) -> None:
    key = bytes(range(256))[:size]
    signer = chain.signer(key)
    for message in (b"", b"x", b"\x1e\x1f" * 100, bytes(range(256)) * 9):
        assert signer.mac(message) == hmac.new(key, message, hashlib.sha256).hexdigest()
    values = ("t", 7, "e", 123, "", "s", "record.read")
    expected = hmac.new(key, b"p" * 64 + b"\x1e" + chain.message(values), hashlib.sha256)
    assert chain.link(key, "p" * 64, values) == expected.hexdigest()
    assert chain.signer(key) is signer  # built once per key


def _draft(tenant: uuid.UUID, env, n: int) -> EventDraft:
    return EventDraft(
        tenant_id=tenant,
        action=AuditAction.RECORD_READ,
        outcome=ALLOWED,
        occurred_at=env.clock(),
        resource_type="record",
        resource_id=uuid.uuid4(),
        request_id=f"append-test-{n}",
    )


def _append(vault, env, tenant: uuid.UUID, n: int) -> int:
    with vault.db.transaction(Scope.tenant(tenant)) as session:
        key = vault.keyring.system_key(session, "audit-hmac")
        return events.append(session, key, _draft(tenant, env, n), lock=vault.db.is_postgres)


def _assert_intact(vault, tenant: uuid.UUID) -> None:
    (report,) = service.verify_all(vault, tenant=str(tenant))
    assert report.ok, report.problem
    seqs = [e.seq for e in chain_events(vault, tenant)]
    assert seqs == list(range(1, len(seqs) + 1))


def _cache_key(vault, tenant: uuid.UUID) -> tuple[int, str]:
    return (id(vault.db.engine), str(tenant))


@pytest.mark.parametrize(
    "stale",
    [
        lambda seq, digest: (seq - 1, digest),  # an older head
        lambda seq, digest: (seq, "f" * 64),  # the right number, another hash
        lambda seq, digest: (seq + 5, digest),  # ahead of the chain
    ],
)
def test_a_wrong_remembered_head_is_never_used(env, stale) -> None:
    tenant = env.world.tenant_a
    _append(env.vault, env, tenant, 0)
    head = chain_events(env.vault, tenant)[-1]
    events._HEADS[_cache_key(env.vault, tenant)] = stale(head.seq, head.hash)
    seq = _append(env.vault, env, tenant, 1)
    assert seq == head.seq + 1
    assert chain_events(env.vault, tenant)[-1].prev_hash == head.hash
    _assert_intact(env.vault, tenant)


def test_an_append_rolled_back_leaves_the_chain_exact(env) -> None:
    tenant = env.world.tenant_a
    _append(env.vault, env, tenant, 0)
    before = chain_events(env.vault, tenant)[-1]

    def failing_unit() -> None:
        with env.vault.db.transaction(Scope.tenant(tenant)) as session:
            key = env.vault.keyring.system_key(session, "audit-hmac")
            events.append(session, key, _draft(tenant, env, 1), lock=env.vault.db.is_postgres)
            raise RuntimeError("the unit fails after its append")

    with pytest.raises(RuntimeError):
        failing_unit()
    assert _append(env.vault, env, tenant, 2) == before.seq + 1
    _assert_intact(env.vault, tenant)


def test_two_processes_appending_in_turn_keep_one_chain(env) -> None:
    """Two vaults on one database stand for two server processes: each one's remembered
    head goes stale whenever the other appends."""
    tenant = env.world.tenant_a
    other = env.reopen()
    try:
        for n in range(6):
            _append(env.vault if n % 2 else other, env, tenant, n)
        _append(env.vault, env, tenant, 6)
        _append(env.vault, env, tenant, 7)
        _assert_intact(env.vault, tenant)
    finally:
        other.db.dispose()


def test_concurrent_appends_from_two_processes_keep_one_chain(env) -> None:
    tenant = env.world.tenant_a
    other = env.reopen()
    before = len(chain_events(env.vault, tenant))
    try:

        def work(n: int) -> None:
            for i in range(10):
                _append(env.vault if n % 2 else other, env, tenant, n * 100 + i)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(work, range(4)))
        assert len(chain_events(env.vault, tenant)) == before + 40
        _assert_intact(env.vault, tenant)
    finally:
        other.db.dispose()


def test_driver_errors_surface_as_sqlalchemy_errors(env) -> None:
    with (
        pytest.raises(DBAPIError),
        env.vault.db.transaction(Scope.tenant(env.world.tenant_a)) as session,
    ):
        driver_execute(session.connection(), "SELECT no_such_column FROM audit_heads")


def test_postgres_appends_in_one_round_trip_while_the_head_is_current(
    env, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = env.world.tenant_a
    _append(env.vault, env, tenant, 0)
    ran: list[str] = []
    run = events._Writer.run

    def recording(self, statement, params):
        ran.append(statement)
        return run(self, statement, params)

    monkeypatch.setattr(events._Writer, "run", recording)
    _append(env.vault, env, tenant, 1)
    head = chain_events(env.vault, tenant)[-1]
    if env.backend == "postgres":
        assert len(ran) == 1 and ran[0].startswith("WITH advanced")
        assert events._HEADS[_cache_key(env.vault, tenant)] == (head.seq, head.hash)
    else:  # SQLite reads the head under its write lock: nearly free
        assert [" ".join(s.split()[:3]) for s in ran] == [
            "SELECT seq, hash",
            "INSERT INTO audit_events",
            "INSERT INTO audit_hours",
            "UPDATE audit_heads SET",
        ]
    _assert_intact(env.vault, tenant)
