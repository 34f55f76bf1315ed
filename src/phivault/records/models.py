"""PHI tables. Every primary key starts with ``tenant_id`` (I-5); every PHI value is a
ciphertext bound to its tenant, table, column and row (I-6)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, ForeignKeyConstraint, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from phivault.db.base import Base, new_id


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (
        Index("ix_people_name_dob", "tenant_id", "bidx_name_dob"),
        # One MRN per agency, enforced by the database through the blind index (no two people
        # are found by one MRN); people without an MRN (NULL) do not collide.
        Index("ix_people_mrn", "tenant_id", "bidx_mrn", unique=True),
        # The people list pages by keyset within one kind (records.service.people_page).
        Index("ix_people_list", "tenant_id", "kind", "created_at", "id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))  # patient | caregiver
    given_name_ct: Mapped[bytes] = mapped_column(LargeBinary)
    family_name_ct: Mapped[bytes] = mapped_column(LargeBinary)
    date_of_birth_ct: Mapped[bytes] = mapped_column(LargeBinary)
    mrn_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    bidx_name_dob: Mapped[bytes] = mapped_column(LargeBinary(32))
    bidx_mrn: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Filed in error: voided with a reason, never deleted (hidden from ordinary views).
    voided_at: Mapped[datetime | None]
    voided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    void_reason_ct: Mapped[bytes | None] = mapped_column(LargeBinary)


class Record(Base):
    """A typed record. Its fields are stored as three ciphertexts, one per view tier, so a
    Minimum-category read never even decrypts Summary or Full fields."""

    __tablename__ = "records"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["people.tenant_id", "people.id"]),
        Index("ix_records_person", "tenant_id", "person_id", "record_type"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID]
    record_type: Mapped[str] = mapped_column(String(32))
    # Sensitivity tags reveal health facts (e.g. HIV), so they are encrypted too.
    tags_ct: Mapped[bytes] = mapped_column(LargeBinary)
    minimum_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    summary_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    full_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    voided_at: Mapped[datetime | None]
    voided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    void_reason_ct: Mapped[bytes | None] = mapped_column(LargeBinary)


class RecordVersion(Base):
    """An earlier version of a record, kept when it was corrected (HIPAA 164.312(c)).

    Immutable: written once, never updated; its fields are encrypted like the record's, bound
    to this row."""

    __tablename__ = "record_versions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "record_id"], ["records.tenant_id", "records.id"]),
        Index("ix_record_versions_record", "tenant_id", "record_id", "version", unique=True),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    record_id: Mapped[uuid.UUID]
    version: Mapped[int]
    tags_ct: Mapped[bytes] = mapped_column(LargeBinary)
    minimum_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    summary_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    full_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    written_at: Mapped[datetime]
    replaced_at: Mapped[datetime]
    replaced_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))


class PersonVersion(Base):
    """A person's identifying fields as they were before a correction."""

    __tablename__ = "person_versions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["people.tenant_id", "people.id"]),
        Index("ix_person_versions_person", "tenant_id", "person_id", "replaced_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID]
    given_name_ct: Mapped[bytes] = mapped_column(LargeBinary)
    family_name_ct: Mapped[bytes] = mapped_column(LargeBinary)
    date_of_birth_ct: Mapped[bytes] = mapped_column(LargeBinary)
    mrn_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    written_at: Mapped[datetime]
    replaced_at: Mapped[datetime]
    replaced_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))


class Document(Base):
    """A file (PDF, scanned form, call recording) kept as an encrypted blob on disk."""

    __tablename__ = "documents"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["people.tenant_id", "people.id"]),
        Index("ix_documents_person", "tenant_id", "person_id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(32))
    # The lowest access tier that may see the document (minimum | summary | full).
    tier: Mapped[str] = mapped_column(String(8), default="full")
    content_type: Mapped[str] = mapped_column(String(100))
    filename_ct: Mapped[bytes] = mapped_column(LargeBinary)
    tags_ct: Mapped[bytes] = mapped_column(LargeBinary)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    key_version: Mapped[int]
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime]
    # Filed in error: voided with a reason, never deleted (hidden from ordinary views).
    voided_at: Mapped[datetime | None]
    voided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    void_reason_ct: Mapped[bytes | None] = mapped_column(LargeBinary)


class CredentialSlot(Base):
    """The latest expiry of one caregiver's credentials of one kind, for one view (``all``
    records, or ``untagged`` ones for partial views), so the dashboard counts what is due with
    one index range instead of decrypting every credential record.

    ``slot`` is a keyed hash (the tenant's blind-index key) of the person, the kind and the
    view: the row names nobody and no kind, so the date in clear is not linked to anyone
    (records/credential_slots.py explains what a stolen database learns from it)."""

    __tablename__ = "credential_slots"
    __table_args__ = (Index("ix_credential_slots_due", "tenant_id", "view", "expires_on"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    slot: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    view: Mapped[str] = mapped_column(String(8))
    expires_on: Mapped[date]


class CredentialSlotBuild(Base):
    """A tenant's slots have been built from its records (once, lazily, after migration 0012);
    from then on the services that write credentials keep them."""

    __tablename__ = "credential_slot_builds"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    built_at: Mapped[datetime]
