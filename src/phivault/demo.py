"""A demo vault of fabricated data (I-9): two tenants, patients, caregivers, records of every
type, documents, and 90 days of plausible activity in the audit trail. Nothing here resembles a
real patient: every value comes from Faker.

The history is written through the real services (guarded units that audit every read, every
refusal, every emergency access), under a demo clock that starts 90 days ago and is moved
forward day by day, so the audit chain verifies and the dashboard's charts, the audit viewer and
the review queues have something to show. Staff report to the office manager, who reports to
the privacy officer, so a password reset requested in the demo reaches a manager.
"""

from __future__ import annotations

import io
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

from faker import Faker
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import select
from sqlalchemy.orm import Session

from phivault.access import breakglass
from phivault.access.policy import PurposeOfUse
from phivault.access.unit import Actor
from phivault.audit.actions import AuditAction
from phivault.bootstrap import ensure_system, initialize, open_vault
from phivault.clock import system_clock
from phivault.config import Settings
from phivault.crypto import stream
from phivault.db.engine import SYSTEM_TENANT, Scope
from phivault.errors import Conflict, PhivaultError
from phivault.identity.credentials import PasswordCredential
from phivault.identity.models import Member
from phivault.identity.passwords import generate_initial_password, hash_password
from phivault.identity.service import create_member, grant_access
from phivault.identity.sessions import revoke_member_sessions
from phivault.records import documents, service
from phivault.records.blobs import BlobStore
from phivault.tenancy.models import Tenant
from phivault.tenancy.service import do_create_tenant
from phivault.vault import Vault

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


# Sex as recorded in demographics, the names Faker draws for it, and the pronouns the notes use.
SEXES = ("F", "M", "X")
SEX_WEIGHTS = (52, 46, 2)
PRONOUNS = {"F": ("She", "her"), "M": ("He", "his"), "X": ("They", "their")}
COMPLAINTS = (
    "mild knee pain when climbing stairs",
    "better sleep since the last visit",
    "some shortness of breath in the mornings",
    "no new concerns",
    "a good appetite and steady weight",
    "dizziness when standing up quickly",
)
OBSERVATIONS = (
    "walked to the kitchen with the walker",
    "took the morning medications as scheduled",
    "needed help with bathing",
    "kept the home exercise log up to date",
    "asked for the visit time to move to the afternoon",
)


@dataclass(frozen=True)
class Identity:
    """A fabricated person whose name, recorded sex and pronouns agree."""

    given_name: str
    family_name: str
    sex: str

    @classmethod
    def fabricate(cls, fake: Faker) -> Identity:
        sex = random.choices(SEXES, SEX_WEIGHTS)[0]
        given = {
            "F": fake.first_name_female,
            "M": fake.first_name_male,
            "X": fake.first_name_nonbinary,
        }[sex]()
        return cls(given, fake.last_name(), sex)

    def email(self) -> str:
        """An address at example.com (reserved for examples), letters and dots only."""
        local = re.sub(r"[^a-z.]", "", f"{self.given_name}.{self.family_name}".lower())
        return f"{local}@example.com"

    def note(self) -> str:
        """A visit note that speaks of the person with their pronouns."""
        subject, possessive = PRONOUNS[self.sex]
        verb = "report" if self.sex == "X" else "reports"
        return (
            f"Home visit with {self.given_name}. {subject} {verb} {random.choice(COMPLAINTS)}; "
            f"{subject.lower()} {random.choice(OBSERVATIONS)}. Reviewed {possessive} care plan "
            "and goals; no change needed."
        )


def _phone(fake: Faker) -> str:
    return fake.numerify("(%##) 555-01##")


def _records_for(
    fake: Faker, kind: str, who: Identity, caregivers: list[uuid.UUID], today: date
) -> list[tuple[str, dict[str, Any], list[str]]]:
    demo = {
        "address": fake.street_address(),
        "city": fake.city(),
        "state": fake.state_abbr(include_territories=False),
        "postal_code": fake.zipcode(),
        "phone": _phone(fake),
        "email": who.email(),
        "sex": who.sex,
        "preferred_language": "English",
        "emergency_contact_name": fake.name(),
        "emergency_contact_phone": _phone(fake),
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
                    "medications": random.choice(["metformin", "lisinopril", "none"]),
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
                    "text": who.note(),
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
                    "amount": round(random.randint(4000, 90000) / 100, 2),
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
                    {"note_date": today.isoformat(), "text": who.note()},
                    ["mental_health"],
                )
            )
    else:
        out += [
            (
                "credential",
                {
                    "credential_type": random.choice(["cpr", "tb_test", "license"]),
                    "expires_on": (today + timedelta(days=random.randint(-30, 365))).isoformat(),
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


HISTORY_DAYS = 90
DEMO_SLUGS = ("sunrise-demo", "valley-demo")
PRIVACY_OFFICER = "privacy.officer"
# Reads per working day by position (a weekend day has a third of them), and the purpose each
# position states: clinicians treat, billing handles payment, scheduling runs operations.
DAILY_READS = {"Office Manager": 5, "Medical Coder": 4, "Scheduler": 3}
PURPOSE = {
    "Office Manager": PurposeOfUse.TREATMENT,
    "Medical Coder": PurposeOfUse.PAYMENT,
    "Scheduler": PurposeOfUse.OPERATIONS,
    "IT Support Technician": PurposeOfUse.TREATMENT,
}
EMERGENCY_REASONS = (
    "The patient fell at home and the paramedic crew asked for the allergy list by phone.",
    "The on-call nurse could not reach the office and needed the medication list tonight.",
)


def demo_usernames() -> frozenset[str]:
    """The accounts the demo creates (and only these are touched when it is run again)."""
    return frozenset(
        {PRIVACY_OFFICER}
        | {f"{username}@{slug}" for slug in DEMO_SLUGS for _, username, _ in STAFF}
    )


class DemoClock:
    """The demo's time: it starts in the past and is moved forward as the history is written,
    never beyond the real present (no event is dated in the future)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return min(self.now, system_clock())

    def at(self, moment: datetime) -> None:
        self.now = moment


@dataclass
class Agency:
    """One demo tenant as the history generator needs it."""

    id: uuid.UUID
    slug: str
    name: str
    staff: dict[str, Actor] = field(default_factory=dict)  # position title -> actor
    patients: dict[uuid.UUID, Identity] = field(default_factory=dict)
    sensitive: list[uuid.UUID] = field(default_factory=list)  # records tagged sensitive


def _populate(
    vault: Vault,
    agency: Agency,
    actor: Actor,
    fake: Faker,
    patients: int,
    progress: Progress,
    clock: DemoClock,
) -> None:
    """Patients and caregivers admitted over the first weeks, with their records."""
    caregivers: list[uuid.UUID] = []
    blobs = BlobStore(vault.settings.blob_dir)
    n_caregivers = max(2, patients // 5)
    total = n_caregivers + patients
    task = progress.add_task(f"fabricating people ({agency.slug})", total=total)
    start = clock.now
    for index in range(total):
        # Admissions spread over the first three weeks, in office hours.
        clock.at(start + timedelta(days=21 * index / total, minutes=random.randint(0, 480)))
        kind = "caregiver" if index < n_caregivers else "patient"
        who = Identity.fabricate(fake)
        with vault.unit(agency.id, actor, PurposeOfUse.OPERATIONS) as unit:
            person = service.do_create_person(
                unit,
                kind=kind,
                given_name=who.given_name,
                family_name=who.family_name,
                date_of_birth=fake.date_of_birth(minimum_age=18, maximum_age=95).isoformat(),
                mrn=demo_mrn(agency.slug, index - n_caregivers + 1) if kind == "patient" else None,
            )
            for type_name, values, tags in _records_for(
                fake, kind, who, caregivers, unit.now.date()
            ):
                record = service.do_create_record(
                    unit, person_id=person.id, type_name=type_name, fields=values, sensitivity=tags
                )
                if tags:
                    agency.sensitive.append(record.id)
            ticket = None
            if kind == "patient" and index % 4 == 0:
                ticket = documents.begin_upload(
                    unit, person_id=person.id, kind="scanned_form", content_type="application/pdf"
                )
        if kind == "caregiver":
            caregivers.append(person.id)
        else:
            agency.patients[person.id] = who
        if ticket is not None:
            payload = _pdf(fake, "Intake form")
            with blobs.writer(agency.id, ticket.document_id) as sink:
                stream.encrypt_iterable(
                    ticket.data_key, ticket.key_version, ticket.aad, [payload], sink
                )
            with vault.unit(agency.id, actor, PurposeOfUse.OPERATIONS) as unit:
                documents.finish_upload(
                    unit, ticket, filename="intake-form.pdf", size_bytes=len(payload)
                )
            blobs.publish(agency.id, ticket.document_id)
        progress.advance(task)


def _attempt(
    vault: Vault, agency: Agency, actor: Actor, purpose: PurposeOfUse, work: Callable[[Any], object]
) -> None:
    """One guarded act of the history; a refusal is kept in the audit trail like any other."""
    try:
        with vault.unit(agency.id, actor, purpose) as unit:
            work(unit)
    except PhivaultError:
        pass


def _chart_read(person_id: uuid.UUID) -> Callable[[Any], object]:
    def read(unit: Any) -> object:
        service.read_person(unit, person_id)
        return service.list_records(unit, person_id)

    return read


def _history(
    vault: Vault, agency: Agency, officer: Actor, clock: DemoClock, first_day: date, days: int
) -> None:
    """``days`` days of work in the agency, written through the guarded services: staff open
    the charts their work needs, now and then someone opens a record their role may not see
    (refused and audited), two emergency accesses (one reviewed, one left for the privacy
    officer's queue), and new visit notes."""
    emergency_days = {days // 2: 0, days - 2: 1}
    patients = list(agency.patients)
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        weekend = day.weekday() >= 5
        opening = datetime.combine(day, time(8, 0), UTC)
        acts: list[tuple[int, Actor, PurposeOfUse, Callable[[Any], object]]] = []
        for title, per_day in DAILY_READS.items():
            actor = agency.staff[title]
            for _ in range(random.randint(0, max(1, per_day // 3)) if weekend else per_day):
                person = random.choice(patients)
                acts.append((random.randint(0, 540), actor, PURPOSE[title], _chart_read(person)))
        if agency.sensitive and random.random() < 0.2:
            # Curiosity: a coder or scheduler opens a sensitive note; the guard refuses.
            title = random.choice(["Medical Coder", "Scheduler"])
            record_id = random.choice(agency.sensitive)
            acts.append(
                (
                    random.randint(0, 540),
                    agency.staff[title],
                    PURPOSE[title],
                    partial(service.read_record, record_id=record_id),
                )
            )
        if not weekend and random.random() < 0.3:
            person, who = random.choice(list(agency.patients.items()))
            note = {"note_date": day.isoformat(), "service_type": "home visit", "text": who.note()}
            acts.append(
                (
                    random.randint(60, 480),
                    agency.staff["Office Manager"],
                    PurposeOfUse.TREATMENT,
                    partial(
                        service.do_create_record,
                        person_id=person,
                        type_name="clinical_note",
                        fields=note,
                    ),
                )
            )
        for minute, actor, purpose, work in sorted(acts, key=lambda act: act[0]):
            when = opening + timedelta(minutes=minute, seconds=random.randint(0, 59))
            if when > system_clock():
                break  # today's work ends at the real present
            clock.at(when)
            _attempt(vault, agency, actor, purpose, work)
        if offset in emergency_days:
            _emergency(vault, agency, officer, clock, opening, emergency_days[offset])


def _emergency(
    vault: Vault, agency: Agency, officer: Actor, clock: DemoClock, opening: datetime, which: int
) -> None:
    """An after-hours emergency access by the IT support technician (Emergency-only), who
    reads the chart under it; the first is reviewed by the privacy officer the next morning."""
    actor = agency.staff["IT Support Technician"]
    person = random.choice(list(agency.patients))
    clock.at(opening + timedelta(hours=12, minutes=random.randint(0, 50)))
    with vault.unit(agency.id, actor, PurposeOfUse.TREATMENT) as unit:
        grant = breakglass.do_break_glass(
            unit, person_id=person, reason=EMERGENCY_REASONS[which], minutes=30
        )
    clock.at(clock.now + timedelta(minutes=3))
    _attempt(vault, agency, actor, PurposeOfUse.TREATMENT, _chart_read(person))
    clock.at(clock.now + timedelta(minutes=9))
    _attempt(
        vault,
        agency,
        actor,
        PurposeOfUse.TREATMENT,
        lambda unit: breakglass.do_end_break_glass(unit, grant.id),
    )
    if which == 0:
        clock.at(opening + timedelta(days=1, hours=1, minutes=15))
        _attempt(
            vault,
            agency,
            officer,
            PurposeOfUse.OPERATIONS,
            lambda unit: breakglass.do_review_break_glass(
                unit,
                grant.id,
                disposition="appropriate",
                note="Confirmed with the crew chief: a real call, only the allergy list read.",
            ),
        )


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
    """On a demo vault built before, give the demo's own accounts fresh initial passwords
    (their sessions end) and touch no other account; on any other installation refuse, so a
    real vault is never touched."""
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
            members = session.scalars(
                select(Member)
                .where(Member.username.in_(demo_usernames()))
                .order_by(Member.created_at, Member.username)
            )
            for member in members:
                password = _initial_password(session, member.id, now)
                revoke_member_sessions(session, member.id, now, "demo-rebuilt")
                vault.setup_event(
                    session,
                    SYSTEM_TENANT,
                    AuditAction.MEMBER_PASSWORD_RESET,
                    Actor(member.id, source="demo"),
                    member.id,
                    ("password",),
                )
                summary.logins.append(("(existing demo)", member.username, "", password))
            summary.mrns = [(name, f"from {demo_mrn(slug, 1)}") for name, slug in tenants]
        return summary
    finally:
        vault.db.dispose()


def _staff(vault: Vault, fake: Faker, agency: Agency, officer: Actor, positions: Any) -> None:
    """The agency's staff, reporting to its office manager, who reports to the privacy
    officer: a reset request from any of them reaches a manager (AUTH-4)."""
    now = vault.clock()
    with vault.db.transaction(Scope.tenant(agency.id)) as session:
        manager: uuid.UUID | None = None
        for title, username, _ in STAFF:
            member = create_member(
                session, username=f"{username}@{agency.slug}", display_name=fake.name(), now=now
            )
            grant_access(
                session,
                tenant_id=agency.id,
                member_id=member.id,
                position_id=positions[title],
                now=now,
            )
            vault.setup_event(session, agency.id, AuditAction.WORKFORCE_GRANT, officer, member.id)
            member.manager_id = manager or officer.member_id
            vault.setup_event(
                session,
                agency.id,
                AuditAction.WORKFORCE_MANAGER_SET,
                officer,
                member.id,
                ("manager_id",),
            )
            manager = manager or member.id  # the first of STAFF (the office manager) leads
            agency.staff[title] = Actor(member.id, source="demo", request_id="demo")


def _issue_passwords(vault: Vault, summary: DemoSummary, tenant_names: dict[str, str]) -> None:
    """The demo accounts' initial passwords, issued now (at the real present)."""
    with vault.db.transaction(Scope.everything()) as session:
        rows = session.execute(
            select(Member.id, Member.username).where(Member.username.in_(demo_usernames()))
        ).all()
        by_name = {name: member_id for member_id, name in rows}
        now = system_clock()
        officer_id = by_name[PRIVACY_OFFICER]
        summary.logins.append(
            (
                tenant_names[DEMO_SLUGS[0]],
                PRIVACY_OFFICER,
                "privacy officer",
                _initial_password(session, officer_id, now),
            )
        )
        for slug in DEMO_SLUGS:
            for title, username, _ in STAFF:
                login = f"{username}@{slug}"
                summary.logins.append(
                    (
                        tenant_names[slug],
                        login,
                        title,
                        _initial_password(session, by_name[login], now),
                    )
                )


def build_demo(
    settings: Settings,
    *,
    patients_per_tenant: int = 100,
    history_days: int = HISTORY_DAYS,
    progress: Console | None = None,
) -> DemoSummary:
    """Initialise and fill a vault with two tenants of fabricated data and ``history_days``
    (90 by default) of audited activity; on an existing demo vault, only issue fresh initial
    passwords to its accounts."""
    existing = _existing_demo(settings)
    if existing is not None:
        return existing
    fake = Faker("en_US")
    Faker.seed(20031125)
    random.seed(20031125)
    today = system_clock().date()
    first_day = today - timedelta(days=history_days)
    clock = DemoClock(datetime.combine(first_day, time(7, 30), UTC))
    vault, first = initialize(
        settings,
        tenant_name="Sunrise Home Care (demo)",
        tenant_slug=DEMO_SLUGS[0],
        username=PRIVACY_OFFICER,
        display_name=fake.name(),
        clock=clock,
    )
    ensure_system(vault)
    officer = Actor(member_id=first.member_id, source="demo", request_id="demo")
    second = do_create_tenant(
        vault, name="Valley Paramedic Service (demo)", slug=DEMO_SLUGS[1], actor=officer
    )
    with vault.db.transaction(Scope.tenant(second.id)) as session:
        grant_access(
            session,
            tenant_id=second.id,
            member_id=first.member_id,
            position_id=second.positions["Director"],
            now=vault.clock(),
            privacy_officer=True,
            administrator=True,
        )
        vault.setup_event(session, second.id, AuditAction.WORKFORCE_GRANT, officer, first.member_id)
    agencies = []
    for tenant in (first.tenant, second):
        agency = Agency(tenant.id, tenant.slug, tenant.name)
        _staff(vault, fake, agency, officer, tenant.positions)
        agencies.append(agency)
    summary = DemoSummary()
    with Progress(console=progress, transient=True) as bar:
        for agency in agencies:
            clock.at(datetime.combine(first_day, time(8, 0), UTC))
            _populate(vault, agency, officer, fake, patients_per_tenant, bar, clock)
            summary.mrns.append(
                (
                    agency.name,
                    f"{demo_mrn(agency.slug, 1)} to {demo_mrn(agency.slug, patients_per_tenant)}",
                )
            )
        task = bar.add_task(f"writing {history_days} days of activity", total=len(agencies))
        for agency in agencies:
            # Each agency's chain is its own: its history is written in time order.
            _history(vault, agency, officer, clock, first_day + timedelta(days=1), history_days)
            bar.advance(task)
    _issue_passwords(vault, summary, {a.slug: a.name for a in agencies})
    vault.db.dispose()
    return summary
