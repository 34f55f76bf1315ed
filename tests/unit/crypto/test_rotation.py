"""Key rotation: every ciphertext and file moves to the new data-key version and stays readable
through the normal services; interrupted runs resume; the master key rotation re-wraps every
key; old keys are kept; the audit chain still verifies; no PHI reaches the console."""

from __future__ import annotations

import base64
import fcntl
import io
import secrets
import uuid

import pytest
from rich.console import Console
from sqlalchemy import select

from phivault.access import breakglass
from phivault.access.models import BreakGlassGrant
from phivault.access.policy import PurposeOfUse
from phivault.audit import service as audit_service
from phivault.crypto import rotation, stream
from phivault.crypto.cipher import associated_data, key_version_of
from phivault.crypto.keyring import DATA
from phivault.crypto.master import load_master_keys
from phivault.crypto.models import KeyRotation, SystemKey, TenantKey
from phivault.db.base import Base
from phivault.db.engine import Scope
from phivault.errors import Conflict, InvalidInput, NotFound
from phivault.identity import lifecycle
from phivault.identity.service import do_grant
from phivault.records import documents, service
from phivault.records.blobs import BlobStore
from phivault.records.models import Document, Person
from tests.support.audit import events as audit_events
from tests.support.world import second_privacy_officer

T = PurposeOfUse.TREATMENT
EVERY_COLUMN = {f"{c.aad_table}.{c.attribute}" for c in rotation.ENCRYPTED_COLUMNS}


@pytest.fixture(autouse=True)
def no_settle_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wait for other processes' key caches is pointless in one test process."""
    monkeypatch.setattr(rotation, "SETTLE_SECONDS", 0.0)


def quiet() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=200, force_terminal=False), buffer


# -- seeding ----------------------------------------------------------------------------------
def begin(env, payload: bytes) -> documents.UploadTicket:
    w = env.world
    with env.vault.unit(w.tenant_a, w["officer"].actor, T) as unit:
        ticket = documents.begin_upload(
            unit, person_id=w.patient, kind="scanned_form", content_type="application/pdf"
        )
    blobs = BlobStore(env.settings.blob_dir)
    with blobs.writer(w.tenant_a, ticket.document_id) as sink:
        stream.encrypt_iterable(ticket.data_key, ticket.key_version, ticket.aad, [payload], sink)
    return ticket


def finish(env, ticket: documents.UploadTicket, payload: bytes) -> uuid.UUID:
    w = env.world
    with env.vault.unit(w.tenant_a, w["officer"].actor, T) as unit:
        documents.finish_upload(
            unit,
            ticket,
            filename="intake-form.pdf",
            size_bytes=len(payload),
            sensitivity=["mental_health"],
        )
    BlobStore(env.settings.blob_dir).publish(w.tenant_a, ticket.document_id)
    return ticket.document_id


def upload(env, payload: bytes) -> uuid.UUID:
    return finish(env, begin(env, payload), payload)


def seed(env) -> dict[str, object]:
    """A document (several chunks), a reviewed break-glass grant and an access reason."""
    w = env.world
    payload = secrets.token_bytes(150_000)
    doc_id = upload(env, payload)
    reason = "unconscious patient, needs the allergy list"
    with env.vault.unit(w.tenant_a, w["it_support"].actor, T) as unit:
        grant = breakglass.do_break_glass(unit, person_id=w.patient, reason=reason)
    with env.vault.unit(w.tenant_a, w["officer"].actor, T) as unit:
        breakglass.do_review_break_glass(
            unit, grant.id, disposition="appropriate", note="confirmed with the ED charge nurse"
        )
    with env.vault.unit(
        w.tenant_a, w["officer"].actor, PurposeOfUse.OTHER, reason="state survey file request"
    ) as unit:
        service.read_person(unit, w.patient)
    # A corrected person and record keep versions; a person and a record filed in error are
    # voided with an encrypted reason: all of it is rotated too.
    with env.vault.unit(w.tenant_a, w["officer"].actor, T) as unit:
        service.do_update_person(unit, w.patient, {"family_name": "Corrected-Name"})
        service.do_update_record(
            unit, w.records["care_plan"], fields={"medications": "none"}, expected_version=None
        )
        error = service.do_create_person(
            unit,
            kind="patient",
            given_name="Filed",
            family_name="Wrong",
            date_of_birth="1950-01-01",
        )
        wrong = service.do_create_record(
            unit,
            person_id=error.id,
            type_name="clinical_note",
            fields={"note_date": "2026-01-02", "text": "written on the wrong chart"},
        )
        service.do_void_record(unit, wrong.id, reason="written on the wrong chart by mistake")
        service.do_void_person(unit, error.id, reason="a duplicate of an existing patient")
    # A document filed in error is voided with an encrypted reason; its file stays and is
    # rotated like any other.
    misfiled = upload(env, b"%PDF-1.7 scanned into the wrong chart")
    with env.vault.unit(w.tenant_a, w["officer"].actor, T) as unit:
        documents.do_void_document(unit, misfiled, reason="scanned into the wrong chart today")
    # A closed access review keeps the reviewer's note, encrypted.
    with env.vault.unit(w.tenant_a, w["officer"].actor, T) as unit:
        do_grant(
            unit, member_id=w["scheduler"].member_id, position_id=w.positions_a["Payroll Clerk"]
        )
    reviewer = second_privacy_officer(env.vault, w)
    with env.vault.unit(w.tenant_a, reviewer.actor, T) as unit:
        (review,) = lifecycle.list_access_reviews(unit)
        lifecycle.do_close_access_review(unit, review.id, "confirmed", note="payroll cover agreed")
    return {"payload": payload, "doc": doc_id, "grant": grant.id, "reason": reason}


# -- inspection -------------------------------------------------------------------------------
def versions(env, tenant_id: uuid.UUID) -> dict[str, set[int]]:
    """Key versions found in every ciphertext column, document row and document file header."""
    found: dict[str, set[int]] = {}
    blobs = BlobStore(env.settings.blob_dir)
    with env.vault.db.transaction(Scope.tenant(tenant_id)) as session:
        for column in rotation.ENCRYPTED_COLUMNS:
            name = f"{column.aad_table}.{column.attribute}"
            query = select(getattr(column.model, column.attribute)).where(
                column.model.tenant_id == tenant_id
            )
            for blob in session.scalars(query):
                if blob is not None:
                    found.setdefault(name, set()).add(key_version_of(blob))
        for doc in session.scalars(select(Document).where(Document.tenant_id == tenant_id)):
            found.setdefault("documents.key_version", set()).add(doc.key_version)
            with blobs.open(tenant_id, doc.id) as source:
                found.setdefault("documents.file", set()).add(stream.read_header(source)[0])
    return found


def all_versions(env, tenant_id: uuid.UUID) -> set[int]:
    return set().union(*versions(env, tenant_id).values())


def data_keys(env, tenant_id: uuid.UUID) -> dict[int, str]:
    with env.vault.db.transaction(Scope.tenant(tenant_id)) as session:
        rows = session.scalars(
            select(TenantKey).where(TenantKey.tenant_id == tenant_id, TenantKey.purpose == DATA)
        )
        return {k.version: k.state for k in rows}


def rotations(env, tenant_id: uuid.UUID) -> list[KeyRotation]:
    with env.vault.db.transaction(Scope.tenant(tenant_id)) as session:
        return list(
            session.scalars(
                select(KeyRotation)
                .where(KeyRotation.tenant_id == tenant_id)
                .order_by(KeyRotation.to_version)
            )
        )


def download(vault, tenant_id: uuid.UUID, member, doc_id: uuid.UUID) -> bytes:
    blobs = BlobStore(vault.settings.blob_dir)
    with vault.unit(tenant_id, member.actor, T) as unit:
        opened = documents.open_document(unit, blobs, doc_id)
    return b"".join(documents.stream_document(opened))


def assert_readable(env, vault, seeded: dict[str, object]) -> None:
    """Everything decrypts through the normal services."""
    w = env.world
    officer = w["officer"]
    with vault.unit(w.tenant_a, officer.actor, T) as unit:
        note = service.read_record(unit, w.records["note"])
        plan = service.read_record(unit, w.records["care_plan"])
        person = service.read_person(unit, w.patient)
        listed = documents.list_documents(unit, w.patient)
        grants = {g.id: g for g in breakglass.list_break_glass(unit, status=None)}
    assert note.fields["text"] == w.secrets["note"]
    assert plan.fields["plan_text"] == w.secrets["plan"]
    assert person.fields["given_name"] == w.secrets["given"]
    assert person.fields["mrn"] == w.secrets["mrn"]
    (doc,) = [d for d in listed if d.id == seeded["doc"]]
    assert (doc.filename, doc.sensitivity) == ("intake-form.pdf", ["mental_health"])
    assert grants[seeded["grant"]].reason == seeded["reason"]
    assert download(vault, w.tenant_a, officer, seeded["doc"]) == seeded["payload"]
    with vault.unit(w.tenant_b, officer.actor, T) as unit:
        assert service.read_person(unit, w.patient_b).fields["given_name"]


def assert_audit_ok(vault) -> None:
    reports = audit_service.verify_all(vault)
    assert reports and all(r.ok for r in reports)


# -- the encrypted-column table ---------------------------------------------------------------
def test_every_encrypted_column_is_rotated() -> None:
    """A new ``*_ct`` column in a tenant table must be added to rotation.ENCRYPTED_COLUMNS.

    Platform tables (no tenant) encrypt with platform keys, not tenant data keys."""
    in_schema = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.tables.values()
        if "tenant_id" in table.columns
        for column in table.columns
        if column.name.endswith("_ct")
    }
    covered = {f"{c.model.__tablename__}.{c.attribute}" for c in rotation.ENCRYPTED_COLUMNS}
    assert in_schema == covered
    assert [t.name for t in rotation.TABLES] == [
        "people",
        "records",
        "documents",
        "break_glass",
        "access_reasons",
        "access_reviews",
        "record_versions",
        "person_versions",
    ]


# -- data keys --------------------------------------------------------------------------------
def test_rotation_reencrypts_every_value_and_file(env) -> None:
    w = env.world
    seeded = seed(env)
    before = versions(env, w.tenant_a)
    assert set(before) == EVERY_COLUMN | {"documents.key_version", "documents.file"}
    assert all_versions(env, w.tenant_a) == {1}
    audit_before = len(audit_events(env.vault, w.tenant_a))

    console, output = quiet()
    results = rotation.rotate_data_keys(env.vault, tenant=None, batch=2, console=console)

    assert sorted((r.tenant_id, r.from_version, r.to_version, r.resumed) for r in results) == (
        sorted([(w.tenant_a, 1, 2, False), (w.tenant_b, 1, 2, False)])
    )
    result_a = next(r for r in results if r.tenant_id == w.tenant_a)
    assert result_a.files_reencrypted == 2  # the voided document's file too
    assert result_a.missing_files == []
    assert result_a.passes == 2  # the re-encrypting pass and a verifying pass
    after = versions(env, w.tenant_a)
    assert set(after) == set(before)
    assert all(found == {2} for found in after.values()), after
    assert all_versions(env, w.tenant_b) == {2}
    # Old keys are retired but kept (backups need them); the new one is active.
    assert data_keys(env, w.tenant_a) == {1: "retired", 2: "active"}
    (done,) = rotations(env, w.tenant_a)
    assert (done.status, done.from_version, done.to_version) == ("done", 1, 2)
    assert done.finished_at is not None and done.rows_done == result_a.rows_reencrypted > 0

    assert_readable(env, env.vault, seeded)
    fresh = env.reopen()  # no cached keys
    try:
        assert_readable(env, fresh, seeded)
    finally:
        fresh.db.dispose()
    assert_audit_ok(env.vault)
    actions = [e.action for e in audit_events(env.vault, w.tenant_a)[audit_before:]]
    assert actions[:2] == ["key.rotate.start", "key.rotate.finish"]

    text = output.getvalue()
    assert str(w.tenant_a) in text
    for value in w.secrets.values():
        assert value not in text
    assert seeded["reason"] not in text


def test_second_rotation_and_a_document_uploaded_across_the_rotation(env) -> None:
    w = env.world
    seeded = seed(env)
    late_payload = secrets.token_bytes(70_000)
    ticket = begin(env, late_payload)  # the ticket and file use version 1
    rotation.rotate_data_keys(env.vault, tenant=str(w.tenant_a), batch=50, console=None)
    late = finish(env, ticket, late_payload)  # recorded after the rotation finished
    assert download(env.vault, w.tenant_a, w["officer"], late) == late_payload  # v1 kept

    (result,) = rotation.rotate_data_keys(env.vault, tenant=str(w.tenant_a), batch=50, console=None)
    # The seeded, the voided and the late document.
    assert (result.from_version, result.to_version, result.files_reencrypted) == (2, 3, 3)
    assert all_versions(env, w.tenant_a) == {3}
    assert data_keys(env, w.tenant_a) == {1: "retired", 2: "retired", 3: "active"}
    assert all_versions(env, w.tenant_b) == {1}  # only the named tenant rotated
    assert data_keys(env, w.tenant_b) == {1: "active"}
    assert download(env.vault, w.tenant_a, w["officer"], late) == late_payload
    assert_readable(env, env.vault, seeded)
    assert_audit_ok(env.vault)


def test_tenant_must_be_an_existing_tenant_id(env) -> None:
    with pytest.raises(InvalidInput, match="UUID"):
        rotation.rotate_data_keys(env.vault, tenant="alpha", batch=10, console=None)
    with pytest.raises(NotFound):
        rotation.rotate_data_keys(env.vault, tenant=str(uuid.uuid4()), batch=10, console=None)
    assert data_keys(env, env.world.tenant_a) == {1: "active"}


def test_interrupted_rotation_stays_readable_and_resumes(env, monkeypatch) -> None:
    w = env.world
    seeded = seed(env)
    real = rotation._process_batch
    calls = {"n": 0}

    def crash_on_second_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(rotation, "_process_batch", crash_on_second_batch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        rotation.rotate_data_keys(env.vault, tenant=str(w.tenant_a), batch=1, console=None)

    # Half done: one batch (one person) committed, the rest still on version 1.
    assert all_versions(env, w.tenant_a) == {1, 2}
    assert versions(env, w.tenant_a)["people.given_name_ct"] == {1, 2}
    (running,) = rotations(env, w.tenant_a)
    assert (running.status, running.table_name, running.rows_done) == ("running", "people", 1)
    assert running.cursor_id
    assert data_keys(env, w.tenant_a) == {1: "retiring", 2: "active"}
    assert_readable(env, env.vault, seeded)

    monkeypatch.setattr(rotation, "_process_batch", real)
    console, _ = quiet()
    (result,) = rotation.rotate_data_keys(
        env.vault, tenant=str(w.tenant_a), batch=1, console=console
    )
    assert result.resumed and (result.from_version, result.to_version) == (1, 2)
    assert all_versions(env, w.tenant_a) == {2}
    assert data_keys(env, w.tenant_a) == {1: "retired", 2: "active"}  # no third version
    (done,) = rotations(env, w.tenant_a)
    assert done.status == "done"
    assert_readable(env, env.vault, seeded)
    assert_audit_ok(env.vault)


def test_crash_between_commit_and_file_replace_is_healed(env, monkeypatch) -> None:
    """The row already names the new version, the file still holds the old one: the file is
    still decryptable with the key its header names, and the next run re-encrypts it."""
    w = env.world
    seeded = seed(env)
    doc_id = seeded["doc"]

    def crash(temporary, final):
        raise OSError("simulated crash before the replace")

    monkeypatch.setattr(rotation, "_publish", crash)
    with pytest.raises(OSError, match="simulated crash"):
        rotation.rotate_data_keys(env.vault, tenant=str(w.tenant_a), batch=100, console=None)
    found = versions(env, w.tenant_a)
    assert found["documents.key_version"] == {2} and found["documents.file"] == {1}

    blobs = BlobStore(env.settings.blob_dir)
    with env.vault.db.transaction(Scope.tenant(w.tenant_a)) as session:
        seal = env.vault.keyring.for_tenant(session, w.tenant_a)
        with blobs.open(w.tenant_a, doc_id) as source:
            version, prefix = stream.read_header(source)
            _, aead = seal.file_key(version)
            aad = associated_data(w.tenant_a, "documents", "content", str(doc_id))
            plain = b"".join(stream.decrypt_chunks(aead, aad, prefix, source))
    assert plain == seeded["payload"]

    monkeypatch.undo()
    monkeypatch.setattr(rotation, "SETTLE_SECONDS", 0.0)
    (result,) = rotation.rotate_data_keys(
        env.vault, tenant=str(w.tenant_a), batch=100, console=None
    )
    assert result.resumed and result.files_reencrypted == 2  # with the voided document
    assert all_versions(env, w.tenant_a) == {2}
    assert not list(blobs.root.glob(f"{w.tenant_a.hex}/*/*.rotating"))  # temp files gone
    assert_readable(env, env.vault, seeded)


# -- master key -------------------------------------------------------------------------------
def wrapping_ids(env) -> set[str]:
    with env.vault.db.transaction(Scope.everything()) as session:
        tenant = set(session.scalars(select(TenantKey.master_key_id)))
        system = set(session.scalars(select(SystemKey.master_key_id)))
    return tenant | system


def key_rows(env) -> int:
    with env.vault.db.transaction(Scope.everything()) as session:
        tenant = list(session.scalars(select(TenantKey.version)))
        system = list(session.scalars(select(SystemKey.name)))
    return len(tenant) + len(system)


def test_master_rotation_rewraps_every_key(env) -> None:
    w = env.world
    seeded = seed(env)
    old = load_master_keys(env.settings.key_dir).current_key_id
    assert wrapping_ids(env) == {old}
    console, output = quiet()

    kid = rotation.rotate_master(env.settings, progress=console)

    assert kid != old
    master_dir = env.settings.key_dir / "master"
    assert (master_dir / "CURRENT").read_text().strip() == kid
    assert (master_dir / f"{old}.key").exists()  # kept for old backups
    assert set(load_master_keys(env.settings.key_dir).key_ids) == {old, kid}
    assert wrapping_ids(env) == {kid}
    text = output.getvalue()
    assert f"{key_rows(env)} key(s) re-wrapped" in text
    assert "archive them offline" in text.lower() and old in text

    fresh = env.reopen()
    try:
        assert_readable(env, fresh, seeded)
        assert_audit_ok(fresh)
        # A data-key rotation after the master rotation wraps the new version with it too.
        rotation.rotate_data_keys(fresh, tenant=None, batch=100, console=None)
        assert_readable(env, fresh, seeded)
    finally:
        fresh.db.dispose()
    assert wrapping_ids(env) == {kid}
    assert all_versions(env, w.tenant_a) == {2}


def test_interrupted_master_rotation_resumes_with_the_same_key(env, monkeypatch) -> None:
    seeded = seed(env)
    old = load_master_keys(env.settings.key_dir).current_key_id
    real = rotation._rewrap
    calls = {"n": 0}

    def crash_on_second_key(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(rotation, "MASTER_BATCH", 1)
    monkeypatch.setattr(rotation, "_rewrap", crash_on_second_key)
    with pytest.raises(RuntimeError):
        rotation.rotate_master(env.settings, progress=None)
    kid = load_master_keys(env.settings.key_dir).current_key_id
    assert kid != old
    assert wrapping_ids(env) == {old, kid}  # half moved, every key still unwrappable
    fresh = env.reopen()
    try:
        assert_readable(env, fresh, seeded)
    finally:
        fresh.db.dispose()

    monkeypatch.setattr(rotation, "_rewrap", real)
    assert rotation.rotate_master(env.settings, progress=None) == kid  # no third key
    assert set(load_master_keys(env.settings.key_dir).key_ids) == {old, kid}
    assert wrapping_ids(env) == {kid}
    fresh = env.reopen()
    try:
        assert_readable(env, fresh, seeded)
        assert_audit_ok(fresh)
    finally:
        fresh.db.dispose()


def test_master_rotation_refuses_an_environment_master_key(env) -> None:
    settings = env.settings.model_copy(
        update={"master_key": base64.b64encode(secrets.token_bytes(32)).decode()}
    )
    with pytest.raises(InvalidInput, match="PHIVAULT_MASTER_KEY"):
        rotation.rotate_master(settings, progress=None)
    assert len(load_master_keys(env.settings.key_dir).key_ids) == 1


def test_break_glass_review_note_is_rotated(env) -> None:
    w = env.world
    seed(env)
    rotation.rotate_data_keys(env.vault, tenant=str(w.tenant_a), batch=3, console=None)
    with env.vault.db.transaction(Scope.tenant(w.tenant_a)) as session:
        grant = session.scalars(select(BreakGlassGrant)).one()
        seal = env.vault.keyring.for_tenant(session, w.tenant_a)
        assert grant.review_note_ct is not None
        assert key_version_of(grant.review_note_ct) == 2
        note = seal.decrypt_text("break_glass", "review_note", grant.id, grant.review_note_ct)
    assert note == "confirmed with the ED charge nurse"


def test_a_value_that_does_not_decrypt_stops_the_rotation_without_leaking(env) -> None:
    w = env.world
    with env.vault.db.transaction(Scope.tenant(w.tenant_a)) as session:
        person = session.get(Person, (w.tenant_a, w.patient))
        # A ciphertext moved to another column no longer authenticates (its AAD differs).
        person.given_name_ct, person.family_name_ct = person.family_name_ct, person.given_name_ct
    with pytest.raises(rotation.RotationFailed) as failed:
        rotation.rotate_data_keys(env.vault, tenant=str(w.tenant_a), batch=100, console=None)
    message = failed.value.detail
    assert str(w.patient) in message and "stays running" in message
    assert w.secrets["given"] not in message and w.secrets["family"] not in message
    (running,) = rotations(env, w.tenant_a)
    assert running.status == "running"
    assert versions(env, w.tenant_a)["people.given_name_ct"] == {1}  # batch rolled back


def test_only_one_rotation_per_tenant_at_a_time(env) -> None:
    w = env.world
    folder = env.settings.blob_dir / w.tenant_a.hex
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(folder / ".rotation.lock", "a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(Conflict, match="already running"):
            rotation.rotate_data_keys(env.vault, tenant=str(w.tenant_a), batch=10, console=None)
    assert data_keys(env, w.tenant_a) == {1: "active"}
    rotation.rotate_data_keys(env.vault, tenant=str(w.tenant_a), batch=10, console=None)
    assert all_versions(env, w.tenant_a) == {2}
