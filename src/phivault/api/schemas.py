"""Request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(min_length=2, max_length=63)


class TenantOut(BaseModel):
    id: uuid.UUID
    name: str
    slug: str


class PersonIn(Strict):
    kind: str
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    date_of_birth: str
    mrn: str | None = Field(default=None, max_length=40)


class PersonPatch(Strict):
    given_name: str | None = Field(default=None, min_length=1, max_length=100)
    family_name: str | None = Field(default=None, min_length=1, max_length=100)
    date_of_birth: str | None = Field(default=None, max_length=10)
    mrn: str | None = Field(default=None, max_length=40)


class PersonSearch(Strict):
    family_name: str | None = Field(default=None, max_length=100)
    given_name: str | None = Field(default=None, max_length=100)
    date_of_birth: str | None = Field(default=None, max_length=10)
    mrn: str | None = Field(default=None, max_length=40)
    # Emergency-only members: the reason that makes the search an emergency act.
    emergency_reason: str | None = Field(default=None, max_length=1000)


class PersonOut(BaseModel):
    id: uuid.UUID
    kind: str
    fields: dict[str, str | None]


class RecordIn(Strict):
    record_type: str
    fields: dict[str, Any]
    sensitivity: list[str] = Field(default_factory=list)


class RecordPatch(Strict):
    fields: dict[str, Any]
    expected_version: int | None = None


class RecordOut(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    record_type: str
    version: int
    sensitivity: list[str]
    fields: dict[str, Any]
    break_glass: bool


class RecordVersionOut(BaseModel):
    """One version of a record (the current one last), projected like the record."""

    version: int
    current: bool
    written_at: datetime
    replaced_at: datetime | None
    replaced_by: uuid.UUID | None
    voided: bool
    sensitivity: list[str]
    fields: dict[str, Any]


class PersonVersionOut(BaseModel):
    """One version of a person's identifying fields (the current one last)."""

    current: bool
    written_at: datetime
    replaced_at: datetime | None
    replaced_by: uuid.UUID | None
    voided: bool
    fields: dict[str, str | None]


class VoidIn(Strict):
    """Why a record or person was filed in error (a sentence, read by the privacy office)."""

    reason: str = Field(min_length=1, max_length=500)


class DocumentOut(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    tier: str
    content_type: str
    filename: str | None
    size_bytes: int
    sensitivity: list[str]
    created_at: datetime


class BreakGlassIn(Strict):
    person_id: uuid.UUID
    # The sentence rule (access/reasons.py) is checked by the service, with its own message.
    reason: str = Field(max_length=1000)
    minutes: int | None = Field(default=None, ge=1)


class BreakGlassOut(BaseModel):
    id: uuid.UUID
    member_id: uuid.UUID
    person_id: uuid.UUID
    started_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    review_status: str
    reason: str | None
    reviewed_by: uuid.UUID | None = None
    reviewed_at: datetime | None = None
    review_note: str | None = None


class ReviewIn(Strict):
    disposition: str
    note: str = Field(default="", max_length=2000)


class RoleCategoryIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    access_category: str
    mfa_required: bool | None = Field(
        default=None, description="overrides the tenant's MFA setting for this role"
    )


class PositionIn(Strict):
    title: str = Field(min_length=1, max_length=120)
    role_category_id: uuid.UUID


class RoleCategoryChangeIn(Strict):
    """Rename and/or retire (true) or bring back (false); absent fields stay as they are."""

    name: str | None = None
    retired: bool | None = None


class PositionChangeIn(Strict):
    """Rename and/or retire (true) or bring back (false); absent fields stay as they are."""

    title: str | None = None
    retired: bool | None = None


class DirectoryEntryOut(BaseModel):
    position_id: uuid.UUID
    title: str
    role_category_id: uuid.UUID
    role_category: str
    access_category: str


class MemberIn(Strict):
    username: str = Field(min_length=2, max_length=120)
    display_name: str = Field(min_length=1, max_length=200)
    position_id: uuid.UUID
    manager_id: uuid.UUID | None = None
    privacy_officer: bool = False
    administrator: bool = False


class GrantIn(Strict):
    position_id: uuid.UUID
    privacy_officer: bool = False
    administrator: bool = False


class CreatedMember(BaseModel):
    id: uuid.UUID
    username: str
    initial_password: str = Field(
        description="shown this once; the member must change it at first sign-in"
    )


class IdOut(BaseModel):
    id: uuid.UUID


class GrantOut(BaseModel):
    id: uuid.UUID
    status: str = Field(description="granted, or invited: the account must accept first")


class ChainOut(BaseModel):
    tenant_id: str
    intact: bool
    events: int
    last_seq: int
    first_bad_event: int | None
    problem: str | None


class NoticeOut(BaseModel):
    id: uuid.UUID
    kind: str
    ref_id: uuid.UUID
    created_at: datetime
    read_at: datetime | None
