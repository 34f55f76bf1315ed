"""A small fabricated world: two tenants, personas in each role, and a few records.

Personas follow the project's rule: privacy officer, staff member (several categories),
staff of another tenant, outsider. Every value is fabricated by Faker (I-9).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from faker import Faker

from phivault.access.policy import PurposeOfUse
from phivault.access.unit import Actor
from phivault.bootstrap import initialize
from phivault.clock import FrozenClock
from phivault.config import Settings
from phivault.db.engine import Scope
from phivault.identity.service import create_member, grant_access, issue_token
from phivault.records import service
from phivault.tenancy.service import do_create_tenant
from phivault.vault import Vault

# persona -> (tenant key or None, position title)
PERSONAS: dict[str, tuple[str | None, str]] = {
    "clinician": ("a", "Emergency Medical Technician Paramedic"),
    "coder": ("a", "Medical Coder"),
    "scheduler": ("a", "Scheduler"),
    "it_support": ("a", "IT Support Technician"),
    "other_staff": ("b", "Office Manager"),
    "outsider": (None, ""),
}


@dataclass
class Persona:
    name: str
    member_id: uuid.UUID
    token: str

    @property
    def actor(self) -> Actor:
        return Actor(member_id=self.member_id, source="test", request_id=self.name)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Purpose-Of-Use": "treatment"}


@dataclass
class World:
    tenant_a: uuid.UUID
    tenant_b: uuid.UUID
    positions_a: dict[str, uuid.UUID]
    personas: dict[str, Persona]
    patient: uuid.UUID = field(default_factory=uuid.uuid4)
    caregiver: uuid.UUID = field(default_factory=uuid.uuid4)
    patient_b: uuid.UUID = field(default_factory=uuid.uuid4)
    records: dict[str, uuid.UUID] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # fabricated PHI values to look for

    def __getitem__(self, name: str) -> Persona:
        return self.personas[name]


def build_world(settings: Settings, clock: FrozenClock, home: Path) -> tuple[Vault, World]:
    fake = Faker()
    Faker.seed(1125)
    vault, first = initialize(
        settings,
        tenant_name="Alpha Home Care",
        tenant_slug="alpha",
        username="officer",
        display_name=fake.name(),
        clock=clock,
    )
    with vault.db.transaction(Scope.platform()) as session:
        officer_token = issue_token(
            session, member_id=first.member_id, label="test", now=clock(), lifetime=None
        )
    officer = Persona("officer", first.member_id, officer_token)
    beta = do_create_tenant(vault, name="Beta Paramedics", slug="beta", actor=officer.actor)
    personas = {"officer": officer}
    positions = {"a": first.tenant.positions, "b": beta.positions}
    with vault.db.transaction(Scope.tenant(beta.id)) as session:
        grant_access(
            session,
            tenant_id=beta.id,
            member_id=officer.member_id,
            position_id=beta.positions["Director"],
            now=clock(),
            privacy_officer=True,
            administrator=True,
        )
    tenants = {"a": first.tenant.id, "b": beta.id}
    for name, (tenant_key, title) in PERSONAS.items():
        scope = Scope.tenant(tenants[tenant_key]) if tenant_key else Scope.platform()
        with vault.db.transaction(scope) as session:
            member = create_member(session, username=name, display_name=fake.name(), now=clock())
            if tenant_key:
                grant_access(
                    session,
                    tenant_id=tenants[tenant_key],
                    member_id=member.id,
                    position_id=positions[tenant_key][title],
                    now=clock(),
                )
            token = issue_token(
                session, member_id=member.id, label="test", now=clock(), lifetime=None
            )
        personas[name] = Persona(name, member.id, token)
    world = World(tenants["a"], tenants["b"], positions["a"], personas)
    _seed_records(vault, world, fake)
    return vault, world


def _seed_records(vault: Vault, world: World, fake: Faker) -> None:
    s = world.secrets
    s.update(
        given=fake.first_name() + "ia",
        family=fake.last_name() + "son",
        dob=fake.date_of_birth(minimum_age=30, maximum_age=80).isoformat(),
        mrn=fake.bothify("MRN-########"),
        note=fake.sentence(nb_words=8),
        plan=fake.sentence(nb_words=9),
        street=fake.street_address(),
    )
    officer = world["officer"].actor
    with vault.unit(world.tenant_a, officer, PurposeOfUse.OPERATIONS) as unit:
        patient = service.do_create_person(
            unit,
            kind="patient",
            given_name=s["given"],
            family_name=s["family"],
            date_of_birth=s["dob"],
            mrn=s["mrn"],
        )
        caregiver = service.do_create_person(
            unit,
            kind="caregiver",
            given_name=fake.first_name(),
            family_name=fake.last_name(),
            date_of_birth=fake.date_of_birth(minimum_age=20, maximum_age=60).isoformat(),
        )
        world.patient, world.caregiver = patient.id, caregiver.id
        rec = world.records
        rec["demographics"] = service.do_create_record(
            unit,
            person_id=patient.id,
            type_name="demographics",
            fields={"address": s["street"], "phone": fake.phone_number(), "ssn": "000-00-0000"},
        ).id
        rec["care_plan"] = service.do_create_record(
            unit,
            person_id=patient.id,
            type_name="care_plan",
            fields={
                "service_type": "personal care",
                "diagnosis_codes": ["I10"],
                "goals_summary": fake.sentence(),
                "plan_text": s["plan"],
            },
        ).id
        rec["note"] = service.do_create_record(
            unit,
            person_id=patient.id,
            type_name="clinical_note",
            fields={
                "note_date": "2026-01-02",
                "assessment_summary": fake.sentence(),
                "text": s["note"],
            },
        ).id
        rec["sensitive_note"] = service.do_create_record(
            unit,
            person_id=patient.id,
            type_name="clinical_note",
            fields={"note_date": "2026-01-03", "text": fake.sentence()},
            sensitivity=["mental_health"],
        ).id
        rec["credential"] = service.do_create_record(
            unit,
            person_id=caregiver.id,
            type_name="credential",
            fields={"credential_type": "cpr", "expires_on": "2026-03-01", "number": "CR-1"},
        ).id
    with vault.unit(world.tenant_b, officer, PurposeOfUse.OPERATIONS) as unit:
        world.patient_b = service.do_create_person(
            unit,
            kind="patient",
            given_name=fake.first_name(),
            family_name=fake.last_name(),
            date_of_birth=fake.date_of_birth().isoformat(),
        ).id


def second_privacy_officer(vault: Vault, world: World, persona: str = "clinician") -> Persona:
    """Make a persona of agency A a privacy officer too: reviews of the first officer's own
    changes need someone else (separation of duties)."""
    from phivault.identity.models import TenantGrant

    with vault.db.transaction(Scope.tenant(world.tenant_a)) as session:
        grant = session.get(TenantGrant, (world.tenant_a, world[persona].member_id))
        assert grant is not None
        grant.is_privacy_officer = True
    return world[persona]
