"""The demo: well-formed fabricated PDFs, predictable MRNs, 90 days of audited activity whose
chains verify, a reporting line that a password reset reaches, people whose names and pronouns
match their recorded sex, and a re-run that touches only the demo's own accounts."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from faker import Faker
from faker.providers.person.en_US import Provider as Names
from sqlalchemy import func, select

from phivault.access import breakglass
from phivault.access.policy import PurposeOfUse
from phivault.access.unit import Actor
from phivault.audit.models import AuditEvent
from phivault.audit.service import verify_all
from phivault.bootstrap import open_vault
from phivault.clock import from_micros, system_clock
from phivault.config import Settings
from phivault.db.engine import Scope
from phivault.demo import HISTORY_DAYS, PRONOUNS, _pdf, build_demo, demo_mrn, demo_usernames
from phivault.identity import lifecycle, recovery
from phivault.identity.auth import Client
from phivault.identity.credentials import PasswordCredential
from phivault.identity.models import Member
from phivault.identity.passwords import hash_password
from phivault.identity.service import create_member
from phivault.records import service
from phivault.tenancy.models import Tenant
from tests.conftest import BACKENDS, require_postgres
from tests.support import pg


def test_demo_pdf_has_its_header_and_a_cross_reference_table_that_points_at_its_objects() -> None:
    pdf = _pdf(Faker(), "Intake form")
    assert pdf.startswith(b"%PDF-1.4\n")
    assert pdf.rstrip().endswith(b"%%EOF")
    startxref = int(re.search(rb"startxref\n(\d+)\n", pdf).group(1))
    assert pdf[startxref:].startswith(b"xref\n")
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n", pdf)]
    assert len(offsets) == 5
    for number, offset in enumerate(offsets, 1):
        assert pdf[offset:].startswith(b"%d 0 obj" % number)


def test_demo_mrns_are_predictable_per_agency() -> None:
    assert demo_mrn("sunrise-demo", 42) == "SUN-00042"
    assert demo_mrn("valley-demo", 1) == "VAL-00001"


# --- The built demo: 90 days of history, a reporting line, consistent people, safe re-runs ---


# The demo's own 90 days on SQLite; on PostgreSQL the same code writes three weeks, which
# is enough to cross every path (a 90-day build there costs 16 s of the suite's time).
HISTORY = {"sqlite": HISTORY_DAYS, "postgres": 21}


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    """One demo vault per backend (4 patients an agency, HISTORY days of activity)."""
    if request.param == "postgres":
        require_postgres()
    database = pg.create_database() if request.param == "postgres" else None
    settings = Settings(
        home=tmp_path_factory.mktemp(f"demo-{request.param}"),
        database_url=pg.url_for(database) if database else None,
        master_key=None,
    )
    summary = build_demo(settings, patients_per_tenant=4, history_days=HISTORY[request.param])
    vault = open_vault(settings)
    vault.history_days = HISTORY[request.param]  # type: ignore[attr-defined]
    yield settings, vault, summary
    vault.db.dispose()
    if database:
        pg.drop_database(database)


def _member(vault, username: str) -> Member:
    with vault.db.transaction(Scope.everything()) as session:
        member = session.scalar(select(Member).where(Member.username == username))
        session.expunge(member)
        return member


def _tenant(vault, slug: str) -> uuid.UUID:
    with vault.db.transaction(Scope.everything()) as session:
        return session.scalar(select(Tenant.id).where(Tenant.slug == slug))


def test_the_demo_audit_trail_holds_its_days_of_activity_and_every_chain_verifies(demo) -> None:
    _, vault, _ = demo
    days_built = vault.history_days
    assert all(report.ok for report in verify_all(vault))
    now = system_clock()
    for slug in ("sunrise-demo", "valley-demo"):
        tenant = str(_tenant(vault, slug))
        with vault.db.transaction(Scope.everything()) as session:
            e = AuditEvent
            first, last = session.execute(
                select(func.min(e.occurred_us), func.max(e.occurred_us)).where(
                    e.tenant_id == tenant
                )
            ).one()
            refused = session.scalar(
                select(func.count()).where(e.tenant_id == tenant, e.outcome == "refused")
            )
            emergency = session.scalar(
                select(func.count()).where(e.tenant_id == tenant, e.action == "break_glass.start")
            )
            reads = session.scalar(
                select(func.count()).where(e.tenant_id == tenant, e.action == "person.read")
            )
            days = session.execute(
                select(e.occurred_us).where(e.tenant_id == tenant, e.action == "person.read")
            ).scalars()
            distinct_days = {from_micros(us).date() for us in days}
        assert now - from_micros(first) >= timedelta(days=days_built - 1)
        assert from_micros(last) <= now  # nothing dated in the future
        assert now - from_micros(last) <= timedelta(days=3)  # the charts' last days have data
        # About six chart reads a day, and reads on nearly every day (weekends are quieter).
        assert reads > 5.5 * days_built and len(distinct_days) >= 0.88 * days_built
        assert refused > 0 and emergency > 0
        # The review queue has one emergency access waiting, and one was reviewed.
        officer = _member(vault, "privacy.officer")
        with vault.unit(uuid.UUID(tenant), Actor(officer.id)) as unit:
            assert len(breakglass.list_break_glass(unit)) == 1
            assert len(breakglass.list_break_glass(unit, status="appropriate")) == 1


def test_a_password_reset_in_the_demo_reaches_a_manager(demo) -> None:
    _, vault, _ = demo
    officer = _member(vault, "privacy.officer")
    for slug in ("sunrise-demo", "valley-demo"):
        manager = _member(vault, f"office.manager@{slug}")
        assert manager.manager_id == officer.id
        for name in ("coder", "scheduler", "it.support"):
            staff = _member(vault, f"{name}@{slug}")
            assert staff.manager_id == manager.id
        recovery.request_reset(vault, f"scheduler@{slug}", Client(source=f"test-{slug}"))
        with vault.unit(_tenant(vault, slug), Actor(manager.id)) as unit:
            waiting = lifecycle.list_reset_requests(unit)
        assert [r.username for r in waiting] == [f"scheduler@{slug}"]


def test_demo_people_have_names_and_pronouns_that_match_their_recorded_sex(demo) -> None:
    _, vault, _ = demo
    names = {
        "F": set(Names.first_names_female),
        "M": set(Names.first_names_male),
        "X": set(Names.first_names_nonbinary),
    }
    checked = 0
    for slug in ("sunrise-demo", "valley-demo"):
        reader = Actor(_member(vault, f"office.manager@{slug}").id)
        with vault.unit(_tenant(vault, slug), reader, PurposeOfUse.TREATMENT) as unit:
            for kind in ("patient", "caregiver"):
                for person in service.list_people(unit, kind=kind, limit=200):
                    records = service.list_records(unit, person.id)
                    sex = next(r.fields["sex"] for r in records if r.record_type == "demographics")
                    assert person.fields["given_name"] in names[sex]
                    subject = PRONOUNS[sex][0]
                    others = {p[0] for s, p in PRONOUNS.items() if s != sex}
                    for note in (r for r in records if r.record_type == "clinical_note"):
                        text = note.fields.get("text") or ""
                        if text:
                            assert f" {subject} " in f" {text} "
                            assert not any(f". {o} " in text for o in others)
                    checked += 1
    assert checked >= 8


def test_running_the_demo_again_touches_only_the_demos_own_accounts(demo) -> None:
    settings, vault, _ = demo
    with vault.db.transaction(Scope.everything()) as session:
        outsider = create_member(
            session, username="someone.else", display_name="Someone Else", now=system_clock()
        )
        session.add(
            PasswordCredential(
                member_id=outsider.id,
                hash=hash_password("their own passphrase 2026"),
                changed_at=system_clock(),
                must_change=False,
            )
        )
        outsider_id = outsider.id

    def hashes() -> dict[uuid.UUID, str]:
        with vault.db.transaction(Scope.everything()) as session:
            return dict(
                session.execute(select(PasswordCredential.member_id, PasswordCredential.hash)).all()
            )

    before = hashes()
    again = build_demo(settings)
    after = hashes()
    assert {login[1] for login in again.logins} == demo_usernames()
    assert after[outsider_id] == before[outsider_id]
    demo_ids = {_member(vault, name).id for name in demo_usernames()}
    assert all(after[i] != before[i] for i in demo_ids)


def test_demo_contact_details_are_well_formed_and_fictional() -> None:
    """Whatever Faker draws (apostrophes, hyphens, spaces in names), the demo's e-mail, phone,
    state and postal code have the shapes the record fields expect, at reserved addresses."""
    from datetime import date

    from phivault.demo import Identity, _records_for

    fake = Faker("en_US")
    Faker.seed(7)
    for _ in range(300):
        who = Identity.fabricate(fake)
        demo = _records_for(fake, "patient", who, [], date(2026, 1, 5))[0][1]
        assert demo["sex"] == who.sex
        assert re.fullmatch(r"[a-z.]+@example\.com", demo["email"]), demo["email"]
        assert re.fullmatch(r"\([1-9]\d\d\) 555-01\d\d", demo["phone"]), demo["phone"]
        assert re.fullmatch(r"[A-Z]{2}", demo["state"])
        assert re.fullmatch(r"\d{5}", demo["postal_code"])
