"""Key rotation (ENC-3): new tenant data-key versions, and a new master key.

``rotate_data_keys`` gives each tenant a new data-key version and re-encrypts every ciphertext
and document file of the tenant under it, in small committed batches whose progress is kept in
a :class:`~phivault.crypto.models.KeyRotation` row, so an interrupted run continues where it
stopped. ``rotate_master`` moves every wrapped key (tenant and system keys) to a new master key.

Neither deletes an old key: retired data-key versions stay in ``tenant_keys`` and old master
key files stay in the key directory, because backups taken before the rotation still need
them. Nothing here prints or logs PHI or key material: only ids, versions and counts.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import struct
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, cast

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phivault.access.models import AccessReason, BreakGlassGrant
from phivault.audit import events
from phivault.audit.actions import AuditAction
from phivault.audit.events import ALLOWED, EventDraft
from phivault.config import Settings
from phivault.crypto import cipher, stream
from phivault.crypto.keyring import (
    ACTIVE_TTL_SECONDS,
    AUDIT_KEY_NAME,
    DATA,
    TenantCipher,
    _system_context,
    _wrap_context,
)
from phivault.crypto.master import LocalMasterKeys, create_master_key, load_master_keys
from phivault.crypto.models import KeyRotation, SystemKey, TenantKey
from phivault.db.engine import SYSTEM_TENANT, Scope
from phivault.errors import Conflict, InvalidInput, KeyUnavailable, NotFound, PhivaultError
from phivault.identity.models import AccessReview
from phivault.records.blobs import BlobStore
from phivault.records.models import Document, Person, PersonVersion, Record, RecordVersion
from phivault.tenancy.models import Tenant
from phivault.vault import Vault

log = logging.getLogger("phivault.crypto.rotation")

RUNNING = "running"
DONE = "done"
ACTIVE, RETIRING, RETIRED = "active", "retiring", "retired"

# KeyRotation.table_name once every table has been scanned to its end.
SCAN_COMPLETE = "(end)"
# Other processes cache the active key version for ACTIVE_TTL_SECONDS and may keep sealing
# with the old version that long; the last (verifying) pass starts only after that.
SETTLE_SECONDS = ACTIVE_TTL_SECONDS + 1.0
# Full passes over a tenant before giving up because old-version ciphertexts keep appearing.
MAX_PASSES = 5
# A batch of documents also stops once it holds this many plaintext bytes, so that a
# transaction (on SQLite: the database write lock) is never held for long.
DOCUMENT_BATCH_BYTES = 64 * 1024 * 1024
MASTER_BATCH = 200
_ROTATING = ".rotating"
_LOCK_FILE = ".rotation.lock"

# The one place that lists every encrypted column, with the associated data it is sealed
# under: (model, attribute, AAD table, AAD column). They must match what the services use
# (grep "encrypt_" in src/phivault). Adding an encrypted column is one line here.
Sealed = (
    Person
    | Record
    | Document
    | BreakGlassGrant
    | AccessReason
    | AccessReview
    | RecordVersion
    | PersonVersion
)


class RotationFailed(PhivaultError):
    """The rotation stopped; it stays running and continues when run again."""

    status = 500
    slug = "rotation-failed"
    title = "The key rotation stopped"


@dataclass(frozen=True)
class EncryptedColumn:
    model: type[Sealed]
    attribute: str
    aad_table: str
    aad_column: str


ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn(Person, "given_name_ct", "people", "given_name"),
    EncryptedColumn(Person, "family_name_ct", "people", "family_name"),
    EncryptedColumn(Person, "date_of_birth_ct", "people", "date_of_birth"),
    EncryptedColumn(Person, "mrn_ct", "people", "mrn"),
    EncryptedColumn(Person, "void_reason_ct", "people", "void_reason"),
    EncryptedColumn(Record, "tags_ct", "records", "tags_ct"),
    EncryptedColumn(Record, "minimum_ct", "records", "minimum_ct"),
    EncryptedColumn(Record, "summary_ct", "records", "summary_ct"),
    EncryptedColumn(Record, "full_ct", "records", "full_ct"),
    EncryptedColumn(Record, "void_reason_ct", "records", "void_reason"),
    EncryptedColumn(Document, "filename_ct", "documents", "filename"),
    EncryptedColumn(Document, "tags_ct", "documents", "tags"),
    EncryptedColumn(Document, "void_reason_ct", "documents", "void_reason"),
    EncryptedColumn(BreakGlassGrant, "reason_ct", "break_glass", "reason"),
    EncryptedColumn(BreakGlassGrant, "review_note_ct", "break_glass", "review_note"),
    EncryptedColumn(AccessReason, "reason_ct", "access_reasons", "reason_ct"),
    EncryptedColumn(AccessReview, "note_ct", "access_reviews", "note"),
    EncryptedColumn(RecordVersion, "tags_ct", "record_versions", "tags_ct"),
    EncryptedColumn(RecordVersion, "minimum_ct", "record_versions", "minimum_ct"),
    EncryptedColumn(RecordVersion, "summary_ct", "record_versions", "summary_ct"),
    EncryptedColumn(RecordVersion, "full_ct", "record_versions", "full_ct"),
    EncryptedColumn(PersonVersion, "given_name_ct", "person_versions", "given_name"),
    EncryptedColumn(PersonVersion, "family_name_ct", "person_versions", "family_name"),
    EncryptedColumn(PersonVersion, "date_of_birth_ct", "person_versions", "date_of_birth"),
    EncryptedColumn(PersonVersion, "mrn_ct", "person_versions", "mrn"),
)
# Document files (BlobStore): content AAD is (tenant, "documents", "content", document id).
FILE_AAD = ("documents", "content")


@dataclass(frozen=True)
class _Table:
    model: type[Sealed]
    columns: tuple[EncryptedColumn, ...]
    has_files: bool

    @property
    def name(self) -> str:
        return str(self.model.__tablename__)


def _tables() -> tuple[_Table, ...]:
    models: list[type[Sealed]] = []
    for column in ENCRYPTED_COLUMNS:
        if column.model not in models:
            models.append(column.model)
    return tuple(
        _Table(m, tuple(c for c in ENCRYPTED_COLUMNS if c.model is m), m is Document)
        for m in models
    )


TABLES = _tables()


@dataclass
class RotationResult:
    """What one run did for one tenant (ids and counts only)."""

    tenant_id: uuid.UUID
    from_version: int
    to_version: int
    resumed: bool
    rows_reencrypted: int = 0
    files_reencrypted: int = 0
    passes: int = 0
    # Documents whose file was not found (e.g. an upload not yet published): left as they are.
    missing_files: list[uuid.UUID] = field(default_factory=list)


@dataclass
class _BatchOutcome:
    scanned: int = 0
    rows_changed: int = 0
    files_changed: int = 0
    missing: list[uuid.UUID] = field(default_factory=list)
    end_of_pass: bool = False
    stopped: bool = False


# -- data keys --------------------------------------------------------------------------------
def rotate_data_keys(
    vault: Vault, *, tenant: str | None, batch: int, console: Console | None
) -> list[RotationResult]:
    """Rotate the data key of every tenant (or of the one whose id is given).

    For each tenant: create data-key version ``max + 1`` (unless a rotation is already
    running, which is then resumed), mark the older versions ``retiring``, re-encrypt every
    ciphertext and document file not yet under the new version, ``batch`` rows per committed
    transaction, then mark the older versions ``retired``. Retired keys are never deleted:
    backups taken before the rotation need them, and a value written under an old version by
    a process that had not yet noticed the rotation stays readable. Index (blind-index) keys
    are not rotated. Run it again after an interruption and it continues where it stopped.
    """
    if batch < 1:
        raise InvalidInput("'batch' must be at least 1")
    results = []
    for tenant_id in _tenants(vault, tenant):
        results.append(_rotate_tenant(vault, tenant_id, batch, console))
    return results


def _tenants(vault: Vault, tenant: str | None) -> list[uuid.UUID]:
    if tenant is None:
        with vault.db.transaction(Scope.everything()) as session:
            return list(session.scalars(select(Tenant.id).order_by(Tenant.id)))
    try:
        tenant_id = uuid.UUID(tenant)
    except ValueError:
        raise InvalidInput("the tenant must be given by its id (a UUID)") from None
    with vault.db.transaction(Scope.tenant(tenant_id)) as session:
        if session.get(Tenant, tenant_id) is None:
            raise NotFound(f"no tenant with id {tenant_id}")
    return [tenant_id]


def _rotate_tenant(
    vault: Vault, tenant_id: uuid.UUID, batch: int, console: Console | None
) -> RotationResult:
    blobs = BlobStore(vault.settings.blob_dir)
    with _tenant_lock(blobs, tenant_id):
        _remove_stale_files(blobs, tenant_id)
        rotation_id, result = _start(vault, tenant_id)
        settled_at = time.monotonic() + SETTLE_SECONDS
        verb = "resuming" if result.resumed else "rotating"
        _say(
            console,
            f"Tenant {tenant_id}: {verb} data key v{result.from_version} -> v{result.to_version}",
        )
        log.info("tenant %s: %s data key to version %d", tenant_id, verb, result.to_version)
        while True:
            at_start, began = _at_start(vault, tenant_id, rotation_id), time.monotonic()
            if not at_start and _at_end(vault, tenant_id, rotation_id):
                changed = None
            else:
                changed = _run_pass(vault, tenant_id, rotation_id, batch, result, console)
                if changed is None:  # another run finished this rotation meanwhile
                    return result
                result.passes += 1
            # Done only after a whole pass, begun once other processes' caches have expired,
            # found nothing left under an older version.
            clean = at_start and changed == 0 and began >= settled_at
            if clean:
                break
            if result.passes >= MAX_PASSES:
                raise RotationFailed(
                    "ciphertexts under an old key version keep appearing; the rotation is "
                    "left running: run it again when the vault is quieter"
                )
            time.sleep(max(0.0, settled_at - time.monotonic()))
            _restart_pass(vault, tenant_id, rotation_id)
        _finish(vault, tenant_id, rotation_id, result)
    _say(
        console,
        f"Tenant {tenant_id}: data key v{result.to_version} active; "
        f"{result.rows_reencrypted} rows and {result.files_reencrypted} files "
        f"re-encrypted; older versions retired (kept for backups)",
    )
    if result.missing_files:
        _say(
            console,
            f"[yellow]warning:[/] {len(result.missing_files)} document file(s) not "
            f"found, left under their old key: "
            f"{', '.join(str(d) for d in result.missing_files)}",
        )
    return result


def _start(vault: Vault, tenant_id: uuid.UUID) -> tuple[uuid.UUID, RotationResult]:
    """Find the tenant's running rotation, or begin one with a new data-key version."""
    now = vault.clock()
    with vault.db.transaction(Scope.tenant(tenant_id)) as session:
        # Serialise concurrent starts on PostgreSQL (SQLite's write lock already does).
        session.scalar(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
        running = session.scalars(
            select(KeyRotation)
            .where(KeyRotation.tenant_id == tenant_id, KeyRotation.status == RUNNING)
            .order_by(KeyRotation.to_version.desc())
            .limit(1)
        ).first()
        if running is not None:
            return running.id, RotationResult(
                tenant_id, running.from_version, running.to_version, resumed=True
            )
        keys = session.scalars(
            select(TenantKey).where(TenantKey.tenant_id == tenant_id, TenantKey.purpose == DATA)
        ).all()
        if not keys:
            raise KeyUnavailable(f"tenant {tenant_id} has no data key")
        current = max(k.version for k in keys)
        new = current + 1
        vault.keyring.add_key_version(session, tenant_id, DATA, new, now)
        for key in keys:
            if key.state != RETIRED:
                key.state = RETIRING
        rotation = KeyRotation(
            tenant_id=tenant_id,
            id=uuid.uuid4(),
            from_version=current,
            to_version=new,
            status=RUNNING,
            table_name="",
            cursor_id="",
            rows_done=0,
            started_at=now,
        )
        session.add(rotation)
        _audit(vault, session, tenant_id, AuditAction.KEY_ROTATE_START, now, new)
    vault.keyring.forget_active()
    return rotation.id, RotationResult(tenant_id, current, new, resumed=False)


def _audit(
    vault: Vault,
    session: Session,
    tenant_id: uuid.UUID,
    action: AuditAction,
    now: datetime,
    version: int,
) -> None:
    key = vault.keyring.system_key(session, AUDIT_KEY_NAME)
    events.append(
        session,
        key,
        EventDraft(
            tenant_id=tenant_id,
            action=action,
            outcome=ALLOWED,
            occurred_at=now,
            resource_type="tenant_key",
            resource_id=f"{DATA}:v{version}",
            source="key-rotation",
        ),
        lock=vault.db.is_postgres,
    )


def _locked_rotation(
    session: Session, tenant_id: uuid.UUID, rotation_id: uuid.UUID
) -> KeyRotation | None:
    rotation = session.get(KeyRotation, (tenant_id, rotation_id), with_for_update=True)
    return rotation if rotation is not None and rotation.status == RUNNING else None


def _at_start(vault: Vault, tenant_id: uuid.UUID, rotation_id: uuid.UUID) -> bool:
    with vault.db.transaction(Scope.tenant(tenant_id)) as session:
        rotation = session.get(KeyRotation, (tenant_id, rotation_id))
        return rotation is not None and rotation.table_name == "" and rotation.cursor_id == ""


def _at_end(vault: Vault, tenant_id: uuid.UUID, rotation_id: uuid.UUID) -> bool:
    with vault.db.transaction(Scope.tenant(tenant_id)) as session:
        rotation = session.get(KeyRotation, (tenant_id, rotation_id))
        return rotation is not None and rotation.table_name == SCAN_COMPLETE


def _restart_pass(vault: Vault, tenant_id: uuid.UUID, rotation_id: uuid.UUID) -> None:
    with vault.db.transaction(Scope.tenant(tenant_id)) as session:
        rotation = _locked_rotation(session, tenant_id, rotation_id)
        if rotation is not None:
            rotation.table_name, rotation.cursor_id = "", ""


def _count_rows(vault: Vault, tenant_id: uuid.UUID) -> int:
    with vault.db.transaction(Scope.tenant(tenant_id)) as session:
        return sum(
            session.scalar(
                select(func.count()).select_from(t.model).where(t.model.tenant_id == tenant_id)
            )
            or 0
            for t in TABLES
        )


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        # A bar is for a terminal; in a log or pipe it would only leave blank lines.
        disable=console is None or not console.is_terminal,
    )


def _run_pass(
    vault: Vault,
    tenant_id: uuid.UUID,
    rotation_id: uuid.UUID,
    batch: int,
    result: RotationResult,
    console: Console | None,
) -> int | None:
    """Batches until every table is scanned. Returns rows changed (None: rotation ended)."""
    changed = 0
    with _progress(console) as progress:
        task = progress.add_task(
            f"tenant {str(tenant_id)[:8]} pass {result.passes + 1}",
            total=_count_rows(vault, tenant_id),
        )
        while True:
            outcome = _process_batch(vault, tenant_id, rotation_id, batch)
            if outcome.stopped:
                return None
            changed += outcome.rows_changed
            result.rows_reencrypted += outcome.rows_changed
            result.files_reencrypted += outcome.files_changed
            for doc_id in outcome.missing:
                if doc_id not in result.missing_files:
                    result.missing_files.append(doc_id)
            progress.advance(task, outcome.scanned)
            if outcome.end_of_pass:
                return changed


def _process_batch(
    vault: Vault, tenant_id: uuid.UUID, rotation_id: uuid.UUID, batch: int
) -> _BatchOutcome:
    """Re-encrypt the next ``batch`` rows after the cursor, in one committed transaction.

    Document files, and the crash ordering: the new file is written and fsynced under a
    temporary name next to the old one, the transaction that sets ``Document.key_version``
    commits, and only then is the new file moved over the old one (``os.replace``, then the
    directory is fsynced). A failure before the commit leaves row and file on the old version
    (the temporary file is removed, or cleaned up by the next run). A crash between commit and
    replace leaves the row on the new version and the file on the old one: no key is ever
    deleted and the file header names its own version, so the file stays decryptable, and the
    next run heals it, because every pass compares each file's *header* version (not the row)
    with the target and finishes with a full verifying pass. Readers that choose the key from
    ``Document.key_version`` cannot read such a document until then; choosing it from the
    file header closes that window.
    """
    outcome = _BatchOutcome()
    replacements: list[tuple[Path, Path]] = []
    blobs = BlobStore(vault.settings.blob_dir)
    try:
        with vault.db.transaction(Scope.tenant(tenant_id)) as session:
            rotation = _locked_rotation(session, tenant_id, rotation_id)
            if rotation is None:
                outcome.stopped = outcome.end_of_pass = True
                return outcome
            if rotation.table_name == SCAN_COMPLETE:
                outcome.end_of_pass = True
                return outcome
            names = [t.name for t in TABLES]
            index = names.index(rotation.table_name) if rotation.table_name else 0
            table = TABLES[index]
            after = uuid.UUID(rotation.cursor_id) if rotation.cursor_id else None
            query = select(table.model).where(table.model.tenant_id == tenant_id)
            if after is not None:
                query = query.where(table.model.id > after)
            rows = cast(
                list[Sealed],
                list(session.scalars(query.order_by(table.model.id).limit(batch))),
            )
            seal = vault.keyring.for_tenant(session, tenant_id)
            to_version = rotation.to_version
            size = 0
            for row in rows:
                try:
                    changed = _reseal_columns(seal, table, row, to_version)
                    if table.has_files and isinstance(row, Document):
                        file_changed = _reseal_document(
                            blobs, seal, row, to_version, replacements, outcome
                        )
                        changed = changed or file_changed
                        size += row.size_bytes
                except (cipher.DecryptionFailed, struct.error) as exc:
                    raise RotationFailed(
                        f"{table.name} row {row.id} of tenant {tenant_id} does not decrypt "
                        f"({exc}); its batch was not committed and the rotation stays running"
                    ) from exc
                outcome.scanned += 1
                outcome.rows_changed += int(changed)
                if size >= DOCUMENT_BATCH_BYTES:
                    break
            if outcome.scanned == len(rows) and len(rows) < batch:
                # This table is done: on to the next one, or the end of the pass.
                nxt = index + 1
                rotation.table_name = names[nxt] if nxt < len(TABLES) else SCAN_COMPLETE
                rotation.cursor_id = ""
                outcome.end_of_pass = nxt >= len(TABLES)
            else:
                rotation.table_name = table.name
                rotation.cursor_id = str(rows[outcome.scanned - 1].id)
            rotation.rows_done += outcome.rows_changed
            session.flush()
    except BaseException:
        for temporary, _ in replacements:
            temporary.unlink(missing_ok=True)
        raise
    for temporary, final in replacements:
        _publish(temporary, final)
    return outcome


def _publish(temporary: Path, final: Path) -> None:
    os.replace(temporary, final)
    _fsync_dir(final.parent)


def _reseal_columns(seal: TenantCipher, table: _Table, row: Sealed, to_version: int) -> bool:
    changed = False
    for column in table.columns:
        blob: bytes | None = getattr(row, column.attribute)
        if blob is None or cipher.key_version_of(blob) == to_version:
            continue
        plaintext = seal.decrypt(column.aad_table, column.aad_column, row.id, blob)
        resealed = seal.encrypt(
            column.aad_table, column.aad_column, row.id, plaintext, version=to_version
        )
        setattr(row, column.attribute, resealed)
        changed = True
    return changed


def _reseal_document(
    blobs: BlobStore,
    seal: TenantCipher,
    doc: Document,
    to_version: int,
    replacements: list[tuple[Path, Path]],
    outcome: _BatchOutcome,
) -> bool:
    """Write the document's file under ``to_version`` to a temporary file (see above)."""
    final = blobs.path(doc.tenant_id, doc.id)
    try:
        source = open(final, "rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        log.warning("tenant %s: document %s has no file; left as it is", doc.tenant_id, doc.id)
        outcome.missing.append(doc.id)
        return False
    with source:
        version, prefix = stream.read_header(source)
        if version != to_version:
            aad = cipher.associated_data(doc.tenant_id, *FILE_AAD, str(doc.id))
            _, old = seal.file_key(version)
            _, new = seal.file_key(to_version)
            temporary = final.with_name(final.stem + _ROTATING)
            replacements.append((temporary, final))
            with _private_file(temporary) as sink:
                stream.encrypt_iterable(
                    new, to_version, aad, stream.decrypt_chunks(old, aad, prefix, source), sink
                )
            outcome.files_changed += 1
    if doc.key_version == to_version and version == to_version:
        return False
    doc.key_version = to_version
    return True


@contextlib.contextmanager
def _private_file(path: Path) -> Iterator[BinaryIO]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _tenant_lock(blobs: BlobStore, tenant_id: uuid.UUID) -> Iterator[None]:
    """One rotation per tenant at a time on this blob store (they would share temp files)."""
    folder = blobs.root / tenant_id.hex
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(folder / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(f"a key rotation of tenant {tenant_id} is already running") from None
        yield
    finally:
        os.close(fd)


def _remove_stale_files(blobs: BlobStore, tenant_id: uuid.UUID) -> None:
    """Temporary files of an interrupted run (the tenant lock is held, so none is in use)."""
    for stale in (blobs.root / tenant_id.hex).glob(f"*/*{_ROTATING}"):
        stale.unlink(missing_ok=True)


def _finish(
    vault: Vault, tenant_id: uuid.UUID, rotation_id: uuid.UUID, result: RotationResult
) -> None:
    now = vault.clock()
    with vault.db.transaction(Scope.tenant(tenant_id)) as session:
        rotation = _locked_rotation(session, tenant_id, rotation_id)
        if rotation is None:
            return
        for key in session.scalars(
            select(TenantKey).where(
                TenantKey.tenant_id == tenant_id,
                TenantKey.purpose == DATA,
                TenantKey.version < rotation.to_version,
            )
        ):
            key.state = RETIRED
        rotation.status = DONE
        rotation.finished_at = now
        rotation.table_name, rotation.cursor_id = "", ""
        _audit(vault, session, tenant_id, AuditAction.KEY_ROTATE_FINISH, now, rotation.to_version)
    vault.keyring.forget_active()
    log.info(
        "tenant %s: data key version %d active; %d rows, %d files re-encrypted",
        tenant_id,
        result.to_version,
        result.rows_reencrypted,
        result.files_reencrypted,
    )


def _say(console: Console | None, message: str) -> None:
    if console is not None:
        console.print(message, highlight=False)


# -- master key -------------------------------------------------------------------------------
def rotate_master(settings: Settings, *, progress: Console | None) -> str:
    """Create a new master key and re-wrap every tenant and system key with it.

    Resumable: when some keys are still wrapped by an older master key although the newest
    key file is current, an earlier run was interrupted and this one finishes it instead of
    creating yet another key. Old master key files are kept: backups of the database made
    before the rotation can only be opened with them. Running servers must be restarted to
    load the new master key. Returns the id of the new master key.
    """
    from phivault.bootstrap import open_vault

    if settings.master_key:
        raise InvalidInput(
            "master key rotation needs key files, but the master key comes from "
            "PHIVAULT_MASTER_KEY: rotate it in the secret store that provides it"
        )
    vault = open_vault(settings)
    try:
        current = vault.keyring.master.current_key_id
        pending = _count_wrapped_elsewhere(vault, current)
    finally:
        vault.db.dispose()
    if pending:
        kid = current
        _say(progress, f"Resuming the move to master key {kid}: {pending} key(s) left")
    else:
        kid = create_master_key(settings.key_dir)
        _say(progress, f"Created master key {kid}")
    vault = open_vault(settings)
    try:
        master = vault.keyring.master
        if not isinstance(master, LocalMasterKeys) or master.current_key_id != kid:
            raise KeyUnavailable("the new master key did not become current")
        moved = _rewrap_all(vault, master, kid, progress)
        vault.append_system_event(
            EventDraft(
                tenant_id=SYSTEM_TENANT,
                action=AuditAction.MASTER_KEY_ROTATE,
                outcome=ALLOWED,
                occurred_at=vault.clock(),
                resource_type="master_key",
                resource_id=kid,
                source="key-rotation",
            )
        )
    finally:
        vault.db.dispose()
    old = [k for k in load_master_keys(settings.key_dir).key_ids if k != kid]
    _say(progress, f"{moved} key(s) re-wrapped; master key {kid} is current.")
    if old:
        _say(
            progress,
            f"Old master key file(s) kept in {settings.key_dir / 'master'}: "
            f"{', '.join(old)}. Archive them offline once every backup made while "
            f"they were current has expired; restart running servers now.",
        )
    log.info("master key %s current; %d keys re-wrapped", kid, moved)
    return kid


def _count_wrapped_elsewhere(vault: Vault, kid: str) -> int:
    with vault.db.transaction(Scope.everything()) as session:
        tenant_keys = session.scalar(
            select(func.count()).select_from(TenantKey).where(TenantKey.master_key_id != kid)
        )
        system_keys = session.scalar(
            select(func.count()).select_from(SystemKey).where(SystemKey.master_key_id != kid)
        )
    return (tenant_keys or 0) + (system_keys or 0)


def _rewrap_all(vault: Vault, master: LocalMasterKeys, kid: str, console: Console | None) -> int:
    with vault.db.transaction(Scope.everything()) as session:
        tenants = list(session.scalars(select(Tenant.id).order_by(Tenant.id)))
    total = _count_wrapped_elsewhere(vault, kid)
    moved = 0
    with _progress(console) as progress:
        task = progress.add_task("re-wrapping keys", total=total)
        while True:  # system keys (audit HMAC): no tenant, no RLS
            with vault.db.transaction(Scope.platform()) as session:
                system_rows = session.scalars(
                    select(SystemKey)
                    .where(SystemKey.master_key_id != kid)
                    .order_by(SystemKey.name)
                    .limit(MASTER_BATCH)
                ).all()
                for system_row in system_rows:
                    context = _system_context(system_row.name)
                    system_row.wrapped = _rewrap(
                        master, kid, system_row.master_key_id, system_row.wrapped, context
                    )
                    system_row.master_key_id = kid
            moved += len(system_rows)
            progress.advance(task, len(system_rows))
            if len(system_rows) < MASTER_BATCH:
                break
        for tenant_id in tenants:
            while True:
                with vault.db.transaction(Scope.tenant(tenant_id)) as session:
                    rows = session.scalars(
                        select(TenantKey)
                        .where(TenantKey.tenant_id == tenant_id, TenantKey.master_key_id != kid)
                        .order_by(TenantKey.purpose, TenantKey.version)
                        .limit(MASTER_BATCH)
                    ).all()
                    for row in rows:
                        context = _wrap_context(tenant_id, row.purpose, row.version)
                        row.wrapped = _rewrap(master, kid, row.master_key_id, row.wrapped, context)
                        row.master_key_id = kid
                moved += len(rows)
                progress.advance(task, len(rows))
                if len(rows) < MASTER_BATCH:
                    break
    return moved


def _rewrap(
    master: LocalMasterKeys, kid: str, old_kid: str, wrapped: bytes, context: bytes
) -> bytes:
    raw = master.unwrap(old_kid, wrapped, context)
    new_kid, rewrapped = master.wrap(raw, context)
    if new_kid != kid or master.unwrap(new_kid, rewrapped, context) != raw:
        raise KeyUnavailable("re-wrapping a key with the new master key failed")
    return rewrapped
