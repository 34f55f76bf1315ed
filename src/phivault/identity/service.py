"""Workforce accounts, tenant grants and API tokens.

API tokens are ``pvt_`` + 32 random bytes, shown once and stored as SHA-256 (a fast hash is
right for high-entropy secrets; passwords use argon2id). Integration tokens are scoped to one
tenant and chosen permissions and issued only from a fully verified session.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import LargeBinary, bindparam, select
from sqlalchemy.orm import Session

from phivault.access.directory import refuse_retired_position
from phivault.access.guard import UNREAD, StandingRow, Unread
from phivault.access.models import Position
from phivault.access.policy import AccessCategory, Permission
from phivault.access.unit import Unit
from phivault.audit.actions import AuditAction
from phivault.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from phivault.identity import auth, sessions
from phivault.identity.credentials import PasswordCredential
from phivault.identity.models import ApiToken, Member, TenantGrant
from phivault.identity.passwords import generate_initial_password, hash_password
from phivault.identity.standing import GRANT_COLUMNS, outerjoin_standing, standing_from
from phivault.vault import Vault

TOKEN_TOUCH_EVERY = timedelta(minutes=1)
TOKEN_PREFIX = "pvt_"  # noqa: S105 - a public prefix, not a secret
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,119}$")


@dataclass(frozen=True)
class TokenIdentity:
    member_id: uuid.UUID
    token_id: uuid.UUID
    is_platform_admin: bool
    tenant_id: uuid.UUID | None = None
    scopes: frozenset[Permission] | None = None
    needs_touch: bool = False
    # The member's standing in the tenant asked about, if one was (else UNREAD).
    standing: StandingRow | Unread | None = UNREAD


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create_member(
    session: Session,
    *,
    username: str,
    display_name: str,
    now: datetime,
    platform_admin: bool = False,
    status: str = "active",
) -> Member:
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise InvalidInput("'username' must be 2-120 characters: letters, digits, . _ @ -")
    if not display_name.strip() or len(display_name) > 200:
        raise InvalidInput("'display_name' must be 1 to 200 characters")
    if session.scalar(select(Member.id).where(Member.username == username)) is not None:
        raise Conflict("that username is taken")
    member = Member(
        id=uuid.uuid4(),
        username=username,
        display_name=display_name.strip(),
        status=status,
        is_platform_admin=platform_admin,
        created_at=now,
    )
    session.add(member)
    session.flush()
    return member


def issue_token(
    session: Session,
    *,
    member_id: uuid.UUID,
    label: str,
    now: datetime,
    lifetime: timedelta | None = timedelta(days=90),
) -> str:
    """Create an API token and return its secret: the only time it is ever visible."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            id=uuid.uuid4(),
            member_id=member_id,
            secret_hash=hash_token(token),
            label=label[:120],
            created_at=now,
            expires_at=now + lifetime if lifetime else None,
            revoked_at=None,
        )
    )
    session.flush()
    return token


def touch_token(session: Session, token_id: uuid.UUID, now: datetime) -> None:
    """Record a token's last use (see :func:`authenticate_token`)."""
    token = session.get(ApiToken, token_id)
    if token is not None:
        token.last_used_at = now


# Built once: the token check runs on every API request.
_TOKEN = (
    select(
        ApiToken.id,
        ApiToken.expires_at,
        ApiToken.revoked_at,
        Member.id,
        Member.status,
        Member.is_platform_admin,
        ApiToken.tenant_id,
        ApiToken.scopes,
        ApiToken.last_used_at,
    )
    .join(Member, Member.id == ApiToken.member_id)
    .where(ApiToken.secret_hash == bindparam("secret_hash", type_=LargeBinary()))
)
# The same with the member's standing in the tenant a unit works in: one statement where a
# token and a unit used to need two (``authenticate_token(..., tenant_id=...)``).
_TOKEN_HERE = outerjoin_standing(_TOKEN.add_columns(*GRANT_COLUMNS))


def authenticate_token(
    session: Session, token: str, now: datetime, *, tenant_id: uuid.UUID | None = None
) -> TokenIdentity:
    """Resolve a bearer token, refusing unknown, expired, revoked and inactive ones alike.

    Only reads, so that it can run in a read transaction (no write lock on SQLite): the
    token's last use is recorded by :func:`touch_token`, when ``needs_touch`` says so. With
    ``tenant_id`` the same statement reads the member's standing there (``standing``)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthenticated("invalid or expired credentials")
    params: dict[str, object] = {"secret_hash": hash_token(token)}
    statement = _TOKEN
    if tenant_id is not None:
        statement, params = _TOKEN_HERE, params | {"tenant": tenant_id}  # one statement
    # Core on the connection: a plain row, without the ORM's execution path.
    row = session.connection().execute(statement, params).first()
    if row is None or row[2] is not None or row[4] != "active":
        raise Unauthenticated("invalid or expired credentials")
    if row[1] is not None and row[1] <= now:
        raise Unauthenticated("invalid or expired credentials")
    last_used = row[8]
    return TokenIdentity(
        member_id=row[3],
        token_id=row[0],
        is_platform_admin=row[5],
        tenant_id=row[6],
        scopes=parse_scopes(row[7]),
        # Shown in the token list; coarse, to spare a write on nearly every request.
        needs_touch=last_used is None or now - last_used > TOKEN_TOUCH_EVERY,
        standing=standing_from(row[4], row[9:]) if tenant_id is not None else UNREAD,
    )


def parse_scopes(raw: str) -> frozenset[Permission] | None:
    """'*' means every permission the member's standing carries; otherwise a comma list."""
    if raw.strip() == "*":
        return None
    return frozenset(Permission(p) for p in raw.split(",") if p.strip())


def grant_access(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    position_id: uuid.UUID,
    now: datetime,
    privacy_officer: bool = False,
    administrator: bool = False,
) -> None:
    session.add(
        TenantGrant(
            tenant_id=tenant_id,
            member_id=member_id,
            position_id=position_id,
            is_privacy_officer=privacy_officer,
            is_administrator=administrator,
            status="active",
            granted_at=now,
        )
    )
    session.flush()


INVITED = "invited"  # a grant waiting for the account's consent: no standing yet (ACC-12)


def _duties_need_a_privacy_officer(
    unit: Unit, existing: TenantGrant | None, privacy_officer: bool, administrator: bool
) -> None:
    """Privacy-officer and administrator duty are granted by a privacy officer only: an
    administrator cannot mint the officer who will then review their own acts."""
    held = (
        (existing.is_privacy_officer, existing.is_administrator)
        if existing is not None and existing.status == "active"
        else (False, False)
    )
    gained = (privacy_officer and not held[0]) or (administrator and not held[1])
    standing = unit.guard.standing
    if gained and (standing is None or not standing.privacy_officer):
        raise Forbidden("only a privacy officer grants privacy-officer or administrator duty")


def _not_self(unit: Unit, member_id: uuid.UUID) -> None:
    if member_id == unit.actor.member_id:
        raise Conflict("nobody changes their own standing; ask another administrator")


def do_grant(
    unit: Unit,
    *,
    member_id: uuid.UUID,
    position_id: uuid.UUID,
    privacy_officer: bool = False,
    administrator: bool = False,
    new_account: bool = False,
) -> str:
    """Give a workforce member standing in the unit's tenant (privacy officer or admin).
    Returns ``"granted"``, or ``"invited"`` when the account must consent first.

    Nobody changes their own standing: an administrator cannot promote themselves to Full
    access or privacy-officer duty; a second administrator must do it (separation of duties).
    An existing account without active standing here (it belongs to someone, maybe serving
    other agencies) is not pulled in: it is invited, and gets standing when its owner accepts
    (ACC-12). ``new_account`` is for an account created in this very unit.
    """
    _not_self(unit, member_id)
    if unit.session.get(Member, member_id) is None:
        raise unit.guard.not_found(
            Permission.WORKFORCE_MANAGE,
            action=AuditAction.WORKFORCE_GRANT,
            resource_type="member",
            resource_id=member_id,
        )
    if unit.session.get(Position, (unit.tenant_id, position_id)) is None:
        raise unit.guard.not_found(
            Permission.WORKFORCE_MANAGE,
            action=AuditAction.WORKFORCE_GRANT,
            resource_type="position",
            resource_id=position_id,
        )
    unit.guard.allow(
        Permission.WORKFORCE_MANAGE,
        action=AuditAction.WORKFORCE_GRANT,
        resource_type="member",
        resource_id=member_id,
        fields=("position_id", "is_privacy_officer", "is_administrator"),
    )
    existing = unit.session.get(TenantGrant, (unit.tenant_id, member_id))
    if existing is None or existing.position_id != position_id:
        # A retired position is given to nobody new; its holders keep it until changed.
        refuse_retired_position(unit, position_id)
    _duties_need_a_privacy_officer(unit, existing, privacy_officer, administrator)
    if not new_account and (existing is None or existing.status != "active"):
        _invite(unit, existing, member_id, position_id, privacy_officer, administrator)
        return "invited"
    if existing is not None:
        before = (
            existing.position_id,
            existing.is_privacy_officer,
            existing.is_administrator,
            existing.status,
        )
        existing.position_id = position_id
        existing.is_privacy_officer = privacy_officer
        existing.is_administrator = administrator
        existing.status = "active"
        if before != (position_id, privacy_officer, administrator, "active"):
            # ACC-9: a role change is reviewed by the privacy officer.
            from phivault.identity.lifecycle import open_access_review

            open_access_review(unit, member_id, before[0], position_id)
        unit.session.flush()
        return "granted"
    grant_access(
        unit.session,
        tenant_id=unit.tenant_id,
        member_id=member_id,
        position_id=position_id,
        now=unit.now,
        privacy_officer=privacy_officer,
        administrator=administrator,
    )
    # ACC-9: new standing is reviewed too, by someone other than whoever granted it.
    from phivault.identity.lifecycle import open_access_review

    open_access_review(unit, member_id, None, position_id)
    return "granted"


def _invite(
    unit: Unit,
    existing: TenantGrant | None,
    member_id: uuid.UUID,
    position_id: uuid.UUID,
    privacy_officer: bool,
    administrator: bool,
) -> None:
    """Record an invitation: a grant that carries no standing until the member accepts."""
    if existing is None:
        existing = TenantGrant(tenant_id=unit.tenant_id, member_id=member_id)
        unit.session.add(existing)
    existing.position_id = position_id
    existing.is_privacy_officer = privacy_officer
    existing.is_administrator = administrator
    existing.status = INVITED
    existing.granted_at = unit.now
    unit.session.flush()


def do_revoke_grant(unit: Unit, *, member_id: uuid.UUID) -> None:
    _not_self(unit, member_id)
    grant = unit.session.get(TenantGrant, (unit.tenant_id, member_id))
    if grant is None:
        raise unit.guard.not_found(
            Permission.WORKFORCE_MANAGE,
            action=AuditAction.WORKFORCE_REVOKE,
            resource_type="member",
            resource_id=member_id,
        )
    unit.guard.allow(
        Permission.WORKFORCE_MANAGE,
        action=AuditAction.WORKFORCE_REVOKE,
        resource_type="member",
        resource_id=member_id,
        fields=("status",),
    )
    # AUTH-8: losing standing ends every session and token at once, not at next sign-in;
    # ACC-12: of an account that serves other agencies, only the standing here.
    from phivault.identity.authority import end_standing_here

    end_standing_here(unit, grant, "grant-revoked")
    unit.session.flush()


def do_add_member(
    unit: Unit,
    *,
    username: str,
    display_name: str,
    position_id: uuid.UUID,
    privacy_officer: bool = False,
    administrator: bool = False,
) -> tuple[Member, str]:
    """Create a workforce member ("invited") with standing in the unit's tenant and an initial
    password, returned once; it must be changed at first sign-in before any PHI (AUTH-3).

    The permission is checked before anything else, so that refused callers cannot probe
    which usernames exist.
    """
    unit.guard.allow(
        Permission.WORKFORCE_MANAGE,
        action=AuditAction.WORKFORCE_MEMBER_ADD,
        resource_type="member",
        fields=("username", "display_name"),
        named=False,
    )
    member = create_member(
        unit.session,
        username=username,
        display_name=display_name,
        now=unit.now,
        status="invited",
    )
    do_grant(
        unit,
        member_id=member.id,
        position_id=position_id,
        privacy_officer=privacy_officer,
        administrator=administrator,
        new_account=True,
    )
    initial = generate_initial_password()
    unit.session.add(
        PasswordCredential(
            member_id=member.id, hash=hash_password(initial), changed_at=unit.now, must_change=True
        )
    )
    unit.session.flush()
    return member, initial


@dataclass(frozen=True)
class TokenView:
    id: uuid.UUID
    label: str
    tenant_id: uuid.UUID | None
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


MAX_TOKEN_DAYS = 365


def standing_of(
    session: Session, member_id: uuid.UUID, tenant_id: uuid.UUID
) -> tuple[AccessCategory | None, frozenset[Permission]]:
    """The data access category and permissions of the member's active grant in a tenant
    (None and nothing without one)."""
    from phivault.access.models import RoleCategory
    from phivault.access.policy import grant_permissions
    from phivault.identity.roles import join_role

    row = session.execute(
        join_role(select(TenantGrant, RoleCategory.access_category)).where(
            TenantGrant.member_id == member_id,
            TenantGrant.tenant_id == tenant_id,
            TenantGrant.status == "active",
        )
    ).first()
    if row is None:
        return None, frozenset()
    grant, raw = row
    category = AccessCategory(raw)
    return category, grant_permissions(
        category, privacy_officer=grant.is_privacy_officer, administrator=grant.is_administrator
    )


def standing_permissions(
    session: Session, member_id: uuid.UUID, tenant_id: uuid.UUID
) -> frozenset[Permission]:
    """What the member's active grant in a tenant carries (empty without one)."""
    return standing_of(session, member_id, tenant_id)[1]


def create_scoped_token(
    session: Session,
    *,
    member_id: uuid.UUID,
    tenant_id: uuid.UUID,
    scopes: list[str],
    days: int,
    label: str,
    now: datetime,
) -> tuple[uuid.UUID, str]:
    """An integration token for one tenant and a subset of the member's own permissions.

    At use, the guard also intersects with the member's standing then, so a token never
    outlives a demotion.
    """
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"'days' must be 1 to {MAX_TOKEN_DAYS}")
    held = standing_permissions(session, member_id, tenant_id)
    if not held:
        raise InvalidInput("you have no standing in that tenant")
    if scopes == ["*"]:
        raw = "*"
    else:
        try:
            wanted = {Permission(s) for s in scopes}
        except ValueError as exc:
            raise InvalidInput("unknown permission in 'scopes'") from exc
        if not wanted or not wanted <= held:
            raise InvalidInput("'scopes' must be permissions you hold in that tenant")
        raw = ",".join(sorted(wanted))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = uuid.uuid4()
    session.add(
        ApiToken(
            id=token_id,
            member_id=member_id,
            secret_hash=hash_token(token),
            label=label[:120],
            created_at=now,
            expires_at=now + timedelta(days=days),
            revoked_at=None,
            tenant_id=tenant_id,
            scopes=raw,
        )
    )
    session.flush()
    return token_id, token


def list_tokens(session: Session, member_id: uuid.UUID) -> list[TokenView]:
    rows = session.scalars(
        select(ApiToken).where(ApiToken.member_id == member_id).order_by(ApiToken.created_at)
    )
    return [
        TokenView(
            t.id,
            t.label,
            t.tenant_id,
            t.scopes.split(","),
            t.created_at,
            t.expires_at,
            t.revoked_at,
            t.last_used_at,
        )
        for t in rows
    ]


def revoke_token(
    session: Session, member_id: uuid.UUID, token_id: uuid.UUID, now: datetime
) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.member_id != member_id:
        raise NotFound()
    token.revoked_at = token.revoked_at or now
    session.flush()


# One's own tokens, for the API routes and the web page alike. Tokens are platform rows (a
# member's, across tenants), so these run in the identity transaction and are audited in the
# system chain like every other sign-in event.


def my_tokens(vault: Vault, member_id: uuid.UUID) -> list[TokenView]:
    """The member's own API tokens, oldest first (secrets are never stored, only hashes)."""
    with auth.identity_transaction(vault) as db:
        return list_tokens(db, member_id)


def do_issue_token(
    vault: Vault,
    resolved: sessions.Resolved,
    client: auth.Client,
    *,
    tenant_id: uuid.UUID,
    scopes: list[str],
    days: int,
    label: str,
) -> tuple[uuid.UUID, str]:
    """Issue an integration token from a signed-in session; the secret is returned this once.

    Needs a complete sign-in (password and second factor: ``Forbidden`` otherwise) confirmed
    in the last few minutes (``ReauthRequired`` otherwise), because a token outlives the
    session that made it. Audited as ``auth.token.issue`` with the scopes as field names.
    """
    now = vault.clock()
    assurance = auth.session_assurance(resolved.login, now)
    if not (assurance.password_ok and assurance.mfa):
        raise Forbidden("complete sign-in (password and second factor) first")
    sessions.require_fresh(resolved.login, now)
    with auth.identity_transaction(vault) as db:
        token_id, token = create_scoped_token(
            db,
            member_id=resolved.member.id,
            tenant_id=tenant_id,
            scopes=scopes,
            days=days,
            label=label,
            now=now,
        )
        auth.audit(
            vault,
            db,
            AuditAction.AUTH_TOKEN_ISSUE,
            "allowed",
            client,
            member_id=resolved.member.id,
            fields=tuple(scopes)[:20],
        )
    return token_id, token


def do_revoke_token(
    vault: Vault, member_id: uuid.UUID, token_id: uuid.UUID, client: auth.Client
) -> None:
    """Revoke one of the member's own tokens (404 for anyone else's); audited."""
    with auth.identity_transaction(vault) as db:
        revoke_token(db, member_id, token_id, vault.clock())
        auth.audit(vault, db, AuditAction.AUTH_TOKEN_REVOKE, "allowed", client, member_id=member_id)


def held_permissions(
    vault: Vault, member_id: uuid.UUID, tenant_id: uuid.UUID
) -> frozenset[Permission]:
    """What a token for this tenant could carry: the member's own standing there."""
    with auth.identity_transaction(vault) as db:
        return standing_permissions(db, member_id, tenant_id)
