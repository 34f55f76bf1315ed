"""Assemble a :class:`Vault` from settings, and first-time initialisation (``phivault init``)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from phivault.access.unit import Actor
from phivault.audit import events
from phivault.audit.actions import AuditAction
from phivault.audit.models import AuditHead
from phivault.clock import Clock, system_clock
from phivault.config import Settings
from phivault.crypto.keyring import AUDIT_KEY_NAME, IDENTITY_KEY_NAME, Keyring
from phivault.crypto.master import create_master_key, load_master_keys
from phivault.crypto.signing import create_signing_key
from phivault.db import migrate
from phivault.db.engine import SYSTEM_TENANT, Database, Scope, make_engine
from phivault.errors import Conflict
from phivault.identity.credentials import PasswordCredential
from phivault.identity.passwords import generate_initial_password, hash_password
from phivault.identity.service import create_member, grant_access
from phivault.identity.standing import load_standing
from phivault.tenancy.service import NewTenant, do_create_tenant
from phivault.vault import Vault

FIRST_OFFICER_POSITION = "Director"


def prepare_home(settings: Settings) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.home, 0o700)
    settings.blob_dir.mkdir(mode=0o700, exist_ok=True)


def migrate_database(settings: Settings) -> None:
    """Apply migrations as the connecting (owner) role."""
    engine = make_engine(settings.effective_database_url, app_role=None, pooled=False)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    if not settings.is_postgres and settings.sqlite_path.exists():
        os.chmod(settings.sqlite_path, 0o600)  # SQLite gives its -wal/-shm files the same mode


def open_vault(settings: Settings, clock: Clock = system_clock) -> Vault:
    """Connect to an initialised installation."""
    master = load_master_keys(settings.key_dir, settings.master_key)
    app_role = settings.db_app_role if settings.is_postgres else None
    db = Database(make_engine(settings.effective_database_url, app_role=app_role))
    db.optimize()  # SQLite: statistics for the planner, so hot queries use their indexes
    return Vault(
        settings=settings, db=db, keyring=Keyring(master), standing=load_standing, clock=clock
    )


def ensure_keys(settings: Settings) -> None:
    """Create the master key and checkpoint signing key on first run."""
    if settings.master_key is None and not (settings.key_dir / "master" / "CURRENT").exists():
        create_master_key(settings.key_dir)
    create_signing_key(settings.key_dir)


def ensure_system(vault: Vault) -> None:
    """The audit HMAC key and the system audit chain exist after this."""
    with vault.db.transaction(Scope.everything()) as session:
        for name in (AUDIT_KEY_NAME, IDENTITY_KEY_NAME):
            vault.keyring.ensure_system_key(session, name, vault.clock())
        if session.get(AuditHead, str(SYSTEM_TENANT)) is None:
            events.start_chain(session, SYSTEM_TENANT)


@dataclass(frozen=True)
class FirstRun:
    tenant: NewTenant
    username: str
    member_id: uuid.UUID
    initial_password: str


def initialize(
    settings: Settings,
    *,
    tenant_name: str,
    tenant_slug: str,
    username: str,
    display_name: str,
    clock: Clock = system_clock,
) -> tuple[Vault, FirstRun]:
    """Database, migrations, keys, the first tenant and its privacy officer.

    Refuses (409) when the installation already has members: init runs once.
    """
    prepare_home(settings)
    ensure_keys(settings)
    migrate_database(settings)
    vault = open_vault(settings, clock)
    ensure_system(vault)
    now = clock()
    with vault.db.transaction(Scope.platform()) as session:
        from phivault.identity.models import Member

        if session.scalar(select(Member.id).limit(1)) is not None:
            raise Conflict("this installation is already initialised")
        member = create_member(
            session, username=username, display_name=display_name, now=now, platform_admin=True
        )
        actor = Actor(member_id=member.id, source="cli", request_id="init")
        vault.setup_event(
            session, SYSTEM_TENANT, AuditAction.MEMBER_CREATE, actor, member.id, ("platform_admin",)
        )
    tenant = do_create_tenant(vault, name=tenant_name, slug=tenant_slug, actor=actor)
    with vault.db.transaction(Scope.tenant(tenant.id)) as session:
        grant_access(
            session,
            tenant_id=tenant.id,
            member_id=member.id,
            position_id=tenant.positions[FIRST_OFFICER_POSITION],
            now=now,
            privacy_officer=True,
            administrator=True,
        )
        initial = generate_initial_password()
        session.add(
            PasswordCredential(
                member_id=member.id, hash=hash_password(initial), changed_at=now, must_change=True
            )
        )
        vault.setup_event(
            session,
            tenant.id,
            AuditAction.WORKFORCE_GRANT,
            actor,
            member.id,
            ("position_id", "is_privacy_officer", "is_administrator", "password"),
        )
    return vault, FirstRun(tenant, member.username, member.id, initial)
