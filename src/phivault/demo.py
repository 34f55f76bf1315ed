"""A demo vault of fabricated data (I-9): two tenants, patients, caregivers, records of every
type, and documents. Nothing here resembles a real patient: every value comes from Faker."""

from __future__ import annotations

import io
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from faker import Faker
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import select
from sqlalchemy.orm import Session

from phivault.access.policy import PurposeOfUse
from phivault.access.unit import Actor, Vault
from phivault.bootstrap import ensure_system, initialize, open_vault
from phivault.config import Settings
from phivault.crypto import stream
from phivault.db.engine import SYSTEM_TENANT, Scope
from phivault.errors import Conflict
from phivault.identity.credentials import PasswordCredential
from phivault.identity.models import Member
from phivault.identity.passwords import generate_initial_password, hash_password
from phivault.identity.service import create_member, grant_access
from phivault.identity.sessions import revoke_member_sessions
from phivault.records import documents, service
from phivault.records.blobs import BlobStore
from phivault.tenancy.models import Tenant
from phivault.tenancy.service import do_create_tenant

STAFF = (
    ("Office Manager", "office.manager", False),
    ("Medical Coder", "coder", False),
    ("Scheduler", "scheduler", False),
    ("IT Support Technician", "it.support", False),
)


@dataclass
class DemoSummary:
    logins: list[tuple[str, str, str, str]] = field(default_factory=list)
    mrns: list[tuple[str, str]] = field(default_factory=list)  # (agency, range of patient MRNs)

    def login_lines(self) -> list[str]:
        lines = [
            "Sign in with these fabricated accounts in a browser (or POST /api/v1/auth/login).",
            "Each initial password must be changed at first sign-in, then an authenticator app",
            "or a passkey enrolled (a second factor is required before any PHI):",
        ]
        for tenant, username, role, password in self.logins:
            lines.append(f"  {tenant:<32} {username:<28} {role:<22} {password}")
        if self.mrns:
            lines.append("Find a patient by MRN (People → Find a person):")
            lines.extend(f"  {tenant:<32} {span}" for tenant, span in self.mrns)
        return lines


def _pdf(fake: Faker, title: str) -> bytes:
    text = f"{title} - fabricated demo document - {fake.sentence()}"
    body = f"BT /F1 12 Tf 40 760 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(body), body),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")  # (BytesIO(initial) would start writing over it at 0)
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (i, obj))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(
        b"trailer << /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    )
    return out.getvalue()


def _records_for(
    fake: Faker, kind: str, caregivers: list[uuid.UUID]
) -> list[tuple[str, dict[str, Any], list[str]]]:
    today = fake.date_between("-1y", "today")
    demo = {
        "address": fake.street_address(),
        "city": fake.city(),
        "state": fake.state_abbr(),
        "postal_code": fake.postcode(),
        "phone": fake.phone_number(),
        "email": fake.email(),
        "sex": random.choice(["F", "M", "X"]),
        "preferred_language": "English",
        "emergency_contact_name": fake.name(),
        "emergency_contact_phone": fake.phone_number(),
    }
    out: list[tuple[str, dict[str, Any], list[str]]] = [("demographics", demo, [])]
    if kind == "patient":
        codes = random.sample(["I10", "E11.9", "J44.9", "M17.11", "F32.9", "Z74.09"], 2)
        out += [
            (
                "care_plan",
                {
                    "service_type": "personal care",
                    "start_date": today.isoformat(),
                    "diagnosis_codes": codes,
                    "goals_summary": fake.sentence(),
                    "plan_text": fake.paragraph(),
                    "medications": fake.words(3)[0],
                    "allergies": "none known",
                },
                [],
            ),
            (
                "clinical_note",
                {
                    "note_date": today.isoformat(),
                    "service_type": "home visit",
                    "diagnosis_codes": codes[:1],
                    "assessment_summary": fake.sentence(),
                    "text": fake.paragraph(nb_sentences=5),
                },
                [],
            ),
            (
                "billing_claim",
                {
                    "claim_date": today.isoformat(),
                    "payer": "Medicaid",
                    "status": "submitted",
                    "procedure_codes": ["T1019"],
                    "diagnosis_codes": codes,
                    "amount": round(random.uniform(40, 900), 2),
                    "member_number": fake.bothify("??#######"),
                },
                [],
            ),
        ]
        if caregivers:
            out.append(
                (
                    "visit_schedule",
                    {
                        "visit_date": (today + timedelta(days=7)).isoformat(),
                        "start_time": "09:00",
                        "end_time": "11:00",
                        "caregiver_id": str(random.choice(caregivers)),
                        "service_type": "personal care",
                        "tasks": "bathing, meal preparation",
                    },
                    [],
                )
            )
        if random.random() < 0.15:
            out.append(
                (
                    "clinical_note",
                    {"note_date": today.isoformat(), "text": fake.paragraph()},
                    ["mental_health"],
                )
            )
    else:
        out += [
            (
                "credential",
                {
                    "credential_type": random.choice(["cpr", "tb_test", "license"]),
                    "expires_on": fake.date_between("-30d", "+1y").isoformat(),
                    "status": "valid",
                    "issuer": "State Board",
                    "number": fake.bothify("CR-#####"),
                },
                [],
            ),
            (
                "payroll_entry",
                {
                    "period_start": today.isoformat(),
                    "period_end": (today + timedelta(days=13)).isoformat(),
                    "hours": 72,
                    "rate": 19.5,
                    "gross_pay": 1404.0,
                },
                [],
            ),
        ]
    return out


def demo_mrn(slug: str, number: int) -> str:
    """Demo MRNs are predictable (SUN-00001, VAL-00042…) so that a newcomer can find a patient
    without anyone printing a name: the data is fabricated, but the habit is kept."""
    return f"{slug[:3].upper()}-{number:05d}"


def _populate(
    vault: Vault,
    tenant_id: uuid.UUID,
    slug: str,
    actor: Actor,
    fake: Faker,
    patients: int,
    progress: Progress,
) -> None:
    caregivers: list[uuid.UUID] = []
    blobs = BlobStore(vault.settings.blob_dir)
    n_caregivers = max(2, patients // 5)
    task = progress.add_task("fabricating people", total=patients + n_caregivers)
    for index in range(n_caregivers + patients):
        kind = "caregiver" if index < n_caregivers else "patient"
        with vault.unit(tenant_id, actor, PurposeOfUse.OPERATIONS) as unit:
            person = service.do_create_person(
                unit,
                kind=kind,
                given_name=fake.first_name(),
                family_name=fake.last_name(),
                date_of_birth=fake.date_of_birth(minimum_age=18, maximum_age=95).isoformat(),
                mrn=demo_mrn(slug, index - n_caregivers + 1) if kind == "patient" else None,
            )
            for type_name, values, tags in _records_for(fake, kind, caregivers):
                service.do_create_record(
                    unit, person_id=person.id, type_name=type_name, fields=values, sensitivity=tags
                )
            ticket = None
            if kind == "patient" and index % 4 == 0:
                ticket = documents.begin_upload(
                    unit, person_id=person.id, kind="scanned_form", content_type="application/pdf"
                )
        if kind == "caregiver":
            caregivers.append(person.id)
        if ticket is not None:
            payload = _pdf(fake, "Intake form")
            with blobs.writer(tenant_id, ticket.document_id) as sink:
                stream.encrypt_iterable(
                    ticket.data_key, ticket.key_version, ticket.aad, [payload], sink
                )
            with vault.unit(tenant_id, actor, PurposeOfUse.OPERATIONS) as unit:
                documents.finish_upload(
                    unit, ticket, filename="intake-form.pdf", size_bytes=len(payload)
                )
            blobs.publish(tenant_id, ticket.document_id)
        progress.advance(task)


DEMO_SLUGS = ("sunrise-demo", "valley-demo")


def _initial_password(session: Session, member_id: uuid.UUID, now: datetime) -> str:
    """A fresh initial password (to be changed at first sign-in)."""
    password = generate_initial_password()
    credential = session.get(PasswordCredential, member_id)
    if credential is None:
        session.add(
            PasswordCredential(
                member_id=member_id, hash=hash_password(password), changed_at=now, must_change=True
            )
        )
    else:
        credential.hash, credential.changed_at, credential.must_change = (
            hash_password(password),
            now,
            True,
        )
    session.flush()
    return password


def _existing_demo(settings: Settings) -> DemoSummary | None:
    """On a demo vault built before, give its accounts fresh initial passwords (their
    sessions end); on any other installation refuse, so a real vault is never touched."""
    if not (settings.key_dir / "master" / "CURRENT").exists() and settings.master_key is None:
        return None
    vault = open_vault(settings)
    try:
        with vault.db.transaction(Scope.everything()) as session:
            if session.scalar(select(Member.id).limit(1)) is None:
                return None
            tenants = session.execute(
                select(Tenant.name, Tenant.slug).where(Tenant.slug.in_(DEMO_SLUGS))
            ).all()
            if len(tenants) != len(DEMO_SLUGS):
                raise Conflict(
                    f"{settings.home} holds a vault that is not the demo; "
                    "set PHIVAULT_HOME to another directory for the demo"
                )
            summary = DemoSummary()
            now = vault.clock()
            members = session.scalars(select(Member).order_by(Member.created_at, Member.username))
            for member in members:
                password = _initial_password(session, member.id, now)
                revoke_member_sessions(session, member.id, now, "demo-rebuilt")
                vault.setup_event(
                    session,
                    SYSTEM_TENANT,
                    "member.password.reset",
                    Actor(member.id, source="demo"),
                    member.id,
                    ("password",),
                )
                summary.logins.append(("(existing demo)", member.username, "", password))
            summary.mrns = [(name, f"from {demo_mrn(slug, 1)}") for name, slug in tenants]
        return summary
    finally:
        vault.db.dispose()


def build_demo(
    settings: Settings, *, patients_per_tenant: int = 100, progress: Console | None = None
) -> DemoSummary:
    """Initialise and fill a vault with two tenants of fabricated data; on an existing demo
    vault, only issue fresh initial passwords."""
    existing = _existing_demo(settings)
    if existing is not None:
        return existing
    fake = Faker()
    Faker.seed(20031125)
    random.seed(20031125)
    vault, first = initialize(
        settings,
        tenant_name="Sunrise Home Care (demo)",
        tenant_slug="sunrise-demo",
        username="privacy.officer",
        display_name=fake.name(),
    )
    ensure_system(vault)
    summary = DemoSummary(
        [(first.tenant.name, first.username, "privacy officer", first.initial_password)]
    )
    officer = Actor(member_id=first.member_id, source="demo", request_id="demo")
    second = do_create_tenant(
        vault, name="Valley Paramedic Service (demo)", slug="valley-demo", actor=officer
    )
    now = vault.clock()
    tenants = [first.tenant, second]
    with vault.db.transaction(Scope.tenant(second.id)) as session:
        grant_access(
            session,
            tenant_id=second.id,
            member_id=first.member_id,
            position_id=second.positions["Director"],
            now=now,
            privacy_officer=True,
            administrator=True,
        )
        vault.setup_event(session, second.id, "workforce.grant", officer, first.member_id)
    for tenant in tenants:
        for title, username, _ in STAFF:
            login = f"{username}@{tenant.slug}"
            with vault.db.transaction(Scope.tenant(tenant.id)) as session:
                member = create_member(session, username=login, display_name=fake.name(), now=now)
                grant_access(
                    session,
                    tenant_id=tenant.id,
                    member_id=member.id,
                    position_id=tenant.positions[title],
                    now=now,
                )
                password = _initial_password(session, member.id, now)
                vault.setup_event(session, tenant.id, "workforce.grant", officer, member.id)
            summary.logins.append((tenant.name, login, title, password))
    with Progress(console=progress, transient=True) as bar:
        for tenant in tenants:
            _populate(vault, tenant.id, tenant.slug, officer, fake, patients_per_tenant, bar)
            summary.mrns.append(
                (
                    tenant.name,
                    f"{demo_mrn(tenant.slug, 1)} to {demo_mrn(tenant.slug, patients_per_tenant)}",
                )
            )
    vault.db.dispose()
    return summary
