"""Request context: the authenticated member, the stated purpose and the route's declared
permissions, turned into guarded units of work."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from phivault.access.guard import StandingRow, Unread
from phivault.access.policy import Permission, PurposeOfUse
from phivault.access.unit import Actor, ActorCheck, Assurance, CheckedActor, Unit
from phivault.audit.actions import AuditAction
from phivault.audit.events import REFUSED, EventDraft
from phivault.db.engine import SYSTEM_TENANT, Scope
from phivault.errors import CsrfFailed, Forbidden, PurposeRequired, Unauthenticated
from phivault.identity import sessions
from phivault.identity.auth import Client, session_assurance
from phivault.identity.service import TokenIdentity, authenticate_token, touch_token
from phivault.vault import Vault

PERMISSION_KEY = "x-phivault-permissions"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Declarations that are not tenant permissions: "public" (no sign-in) and "self" (the
# caller's own account, e.g. their password or sessions).
PSEUDO = frozenset({"public", "self"})


def declare(*permissions: Permission | str) -> dict[str, Any]:
    """Route metadata naming the permissions a route may exercise ('public' for none).

    The guard refuses any permission a route did not declare, and a test walks every route
    to make sure each declares something.
    """
    return {PERMISSION_KEY: [str(p) for p in permissions]}


def declared_permissions(request: Request) -> frozenset[Permission]:
    route = request.scope.get("route")
    extra = getattr(route, "openapi_extra", None) or {}
    return frozenset(Permission(p) for p in extra.get(PERMISSION_KEY, []) if p not in PSEUDO)


def cross_site(request: Request) -> bool:
    """True for a request a browser sent from another site (login CSRF defence).

    Browsers label requests with Sec-Fetch-Site; with ``Referrer-Policy: no-referrer`` a
    same-origin form post carries ``Origin: null``, so Origin is only compared when real."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    return (
        bool(origin)
        and origin != "null"
        and (urlsplit(origin).netloc != request.headers.get("host", ""))
    )


async def get_vault(request: Request) -> Vault:
    # async (no I/O): a plain def would cost every request a trip through the thread pool.
    vault: Vault = request.app.state.vault
    return vault


@dataclass(frozen=True)
class Principal:
    """Who is calling, by which credential: an API token or a signed-in session."""

    member_id: uuid.UUID
    is_platform_admin: bool
    credential: str  # "token:<id>" | "session:<id>"
    assurance: Assurance
    token_tenant: uuid.UUID | None = None
    token_scopes: frozenset[Permission] | None = None
    resolved: sessions.Resolved | None = None

    @property
    def is_session(self) -> bool:
        return self.resolved is not None


def client_of(request: Request) -> Client:
    source = request.client.host if request.client else ""
    return Client(
        source=source[:64],
        user_agent=request.headers.get("user-agent", "")[:200],
        request_id=getattr(request.state, "request_id", ""),
    )


def _refusal_draft(vault: Vault, client: Client, action: AuditAction, reason: str) -> EventDraft:
    return EventDraft(
        tenant_id=SYSTEM_TENANT,
        action=action,
        outcome=REFUSED,
        occurred_at=vault.clock(),
        reason=reason,
        source=client.source,
        request_id=client.request_id,
    )


def _refusal(vault: Vault, client: Client, action: AuditAction, reason: str) -> None:
    vault.append_system_event(_refusal_draft(vault, client, action, reason))


def _token_principal(identity: TokenIdentity) -> Principal:
    return Principal(
        member_id=identity.member_id,
        is_platform_admin=identity.is_platform_admin,
        credential=f"token:{identity.token_id}",
        # Tokens are issued only from fully verified sessions (password and second factor).
        assurance=Assurance.complete(),
        token_tenant=identity.tenant_id,
        token_scopes=identity.scopes,
    )


def _bearer_token(header: str) -> str | None:
    """The token of an ``Authorization: Bearer`` header, None for any other header."""
    scheme, _, token = header.partition(" ")
    return token if scheme.lower() == "bearer" and token.strip() else None


def _bearer(vault: Vault, header: str, client: Client) -> str:
    """The token of an ``Authorization: Bearer`` header; any other header is refused."""
    token = _bearer_token(header)
    if token is None:
        _refusal(vault, client, AuditAction.AUTH_TOKEN, "malformed")
        raise Unauthenticated("send 'Authorization: Bearer <token>'")
    return token


def _from_token(vault: Vault, token: str, client: Client) -> Principal:
    """Check a token in a read transaction of its own (no write lock on SQLite), and record
    its last use in another only when that is due."""
    refusals: list[EventDraft] = []
    try:
        with vault.db.reading(Scope.platform()) as session:
            identity = _TokenCheck(vault, token, client).identity_in(session, refusals)
    finally:
        vault.write_refusals(refusals)
    if identity.needs_touch:
        with vault.db.transaction(Scope.platform()) as session:
            touch_token(session, identity.token_id, vault.clock())
    return _token_principal(identity)


def _from_session(vault: Vault, request: Request, secret: str, client: Client) -> Principal:
    now = vault.clock()
    with vault.db.transaction(Scope.platform()) as session:
        # resolve() marks an idle or expired session revoked; that must commit even though
        # the request is refused, so the refusal is raised after the transaction.
        try:
            resolved: sessions.Resolved | None = sessions.resolve(session, secret, now)
        except Unauthenticated as exc:
            resolved, refusal = None, exc
    if resolved is None:
        _refusal(vault, client, AuditAction.AUTH_SESSION, "invalid-or-expired")
        raise refusal
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(sent.encode(), resolved.login.csrf_token.encode()):
            _refusal(vault, client, AuditAction.AUTH_CSRF, "csrf-mismatch")
            raise CsrfFailed("send this session's CSRF token in the X-CSRF-Token header")
    return Principal(
        member_id=resolved.member.id,
        is_platform_admin=resolved.member.is_platform_admin,
        credential=f"session:{resolved.login.id}",
        assurance=session_assurance(resolved.login, now),
        resolved=resolved,
    )


def authenticate(request: Request, vault: Annotated[Vault, Depends(get_vault)]) -> Principal:
    """A bearer token, or else the session cookie (whose unsafe requests need the CSRF token)."""
    client = client_of(request)
    header = request.headers.get("authorization", "")
    if header:
        return _from_token(vault, _bearer(vault, header, client), client)
    secret = request.cookies.get(sessions.SESSION_COOKIE)
    if secret:
        return _from_session(vault, request, secret, client)
    _refusal(vault, client, AuditAction.AUTH_TOKEN, "missing")
    raise Unauthenticated("sign in, or send 'Authorization: Bearer <token>'")


def _purpose(request: Request) -> tuple[PurposeOfUse | None, str | None]:
    raw = request.headers.get("x-purpose-of-use")
    reason = request.headers.get("x-purpose-reason")
    if raw is None:
        return None, reason
    try:
        return PurposeOfUse(raw.strip().lower()), reason
    except ValueError:
        raise PurposeRequired(
            "X-Purpose-Of-Use must be treatment, payment, operations or other"
        ) from None


class _TokenCheck:
    """A bearer token not checked yet. The check runs as the first statement of the route's
    unit, in its transaction, so that a guarded read pays for one transaction, not two
    (token, then unit); a route that opens no unit, or fails first, has it checked on its
    own before anything is answered (:func:`request_context`)."""

    def __init__(self, vault: Vault, token: str, client: Client) -> None:
        self.vault = vault
        self.token = token
        self.client = client

    def identity_in(
        self,
        session: Session,
        refusals: list[EventDraft],
        tenant_id: uuid.UUID | None = None,
    ) -> TokenIdentity:
        """Check the token in the caller's transaction (reads only), with the member's
        standing in ``tenant_id`` if given; an invalid one queues its audited refusal on
        ``refusals`` (for after the rollback) and raises."""
        try:
            return authenticate_token(
                session, self.token.strip(), self.vault.clock(), tenant_id=tenant_id
            )
        except Unauthenticated:
            draft = _refusal_draft(
                self.vault, self.client, AuditAction.AUTH_TOKEN, "invalid-credentials"
            )
            refusals.append(draft)
            raise

    def checked_in(
        self, session: Session, refusals: list[EventDraft], tenant_id: uuid.UUID
    ) -> tuple[Principal, StandingRow | Unread | None]:
        """:meth:`identity_in` for a unit in ``tenant_id``, and the token's last use
        recorded in the same (writing) transaction."""
        identity = self.identity_in(session, refusals, tenant_id)
        if identity.needs_touch:
            touch_token(session, identity.token_id, self.vault.clock())
        return _token_principal(identity), identity.standing


@dataclass
class RequestContext:
    """What a route knows of its caller: the credential, the stated purpose and the route's
    declared permissions. A bearer token is checked when first needed (see :class:`_TokenCheck`)."""

    vault: Vault
    client: Client
    purpose: PurposeOfUse | None
    reason: str | None
    declared: frozenset[Permission]
    _principal: Principal | None = None
    _pending: _TokenCheck | None = None
    _refused: Unauthenticated | None = None

    @property
    def identity(self) -> Principal:
        """The checked caller (checks a pending token now, in its own transaction)."""
        self.verify()
        assert self._principal is not None
        return self._principal

    @property
    def actor(self) -> Actor:
        return _actor(self.identity, self.client)

    @property
    def session_resolved(self) -> sessions.Resolved | None:
        """The signed-in session behind the request; None for a bearer token (unchecked)."""
        return None if self._principal is None else self._principal.resolved

    def verify(self) -> None:
        """Check a pending token, once; raise for an invalid credential, every time."""
        if self._refused is not None:
            raise self._refused
        pending = self._pending
        if pending is None:
            return
        try:
            self._accept(_from_token(self.vault, pending.token, pending.client))
        except Unauthenticated as exc:
            self._refuse(exc)
            raise

    def _accept(self, principal: Principal) -> None:
        self._principal, self._pending = principal, None

    def _refuse(self, exc: Unauthenticated) -> None:
        self._refused, self._pending = exc, None

    def _actor_in(
        self, session: Session, refusals: list[EventDraft], tenant_id: uuid.UUID
    ) -> CheckedActor:
        """The unit's actor, the pending token checked in the unit's own transaction (with
        the member's standing there, in the same statement)."""
        assert self._pending is not None
        try:
            principal, standing = self._pending.checked_in(session, refusals, tenant_id)
        except Unauthenticated as exc:
            self._refuse(exc)
            raise
        self._accept(principal)
        return CheckedActor(self.actor, standing)

    @contextmanager
    def unit(self, tenant_id: uuid.UUID) -> Iterator[Unit]:
        if self._refused is not None:
            raise self._refused
        actor: Actor | ActorCheck = self._actor_in if self._pending is not None else self.actor
        with self.vault.unit(
            tenant_id, actor, self.purpose, self.reason, declared=self.declared
        ) as unit:
            yield unit

    def require_platform_admin(self) -> None:
        """Platform actions need the flag *and* a complete sign-in (settled password, second
        factor), like tenant work does through the guard's account gates."""
        identity, actor = self.identity, self.actor
        assurance = identity.assurance
        if not (identity.is_platform_admin and assurance.password_ok and assurance.mfa):
            self.vault.append_system_event(
                EventDraft(
                    tenant_id=SYSTEM_TENANT,
                    action=AuditAction.PLATFORM_ADMIN,
                    outcome=REFUSED,
                    occurred_at=self.vault.clock(),
                    actor_id=actor.member_id,
                    session_id=actor.session_id,
                    reason="permission",
                    source=actor.source,
                    request_id=actor.request_id,
                )
            )
            raise Forbidden("platform administrators only")


def _actor(identity: Principal, client: Client) -> Actor:
    return Actor(
        member_id=identity.member_id,
        session_id=identity.credential,
        source=client.source,
        request_id=client.request_id,
        assurance=identity.assurance,
        token_tenant=identity.token_tenant,
        token_scopes=identity.token_scopes,
    )


async def request_context(
    request: Request, vault: Annotated[Vault, Depends(get_vault)]
) -> AsyncIterator[RequestContext]:
    """The caller's context for an API route. A session is resolved now; a bearer token is
    checked by the route's unit. Whatever the route does, nothing is answered to a caller
    whose credential was not checked: an error (the route's, a malformed body's) or a route
    that opened no unit has the token checked first, and an invalid one answers 401.

    async, and the database reached through the thread pool only when needed: a token
    request enters and leaves this dependency without a thread hop."""
    client = client_of(request)
    ctx = RequestContext(vault, client, None, None, declared_permissions(request))
    header = request.headers.get("authorization", "")
    token = _bearer_token(header) if header else None
    if token is not None:
        ctx._pending = _TokenCheck(vault, token, client)
    else:
        ctx._principal = await run_in_threadpool(authenticate, request, vault)
    try:
        ctx.purpose, ctx.reason = _purpose(request)
        yield ctx
    except Exception:
        await _checked(ctx)
        raise
    await _checked(ctx)


async def _checked(ctx: RequestContext) -> None:
    """:meth:`RequestContext.verify`, through the thread pool when it must query."""
    if ctx._pending is not None:
        await run_in_threadpool(ctx.verify)
    else:
        ctx.verify()


Ctx = Annotated[RequestContext, Depends(request_context, scope="function")]


async def fresh_context(ctx: Ctx) -> RequestContext:
    """For sensitive actions (AUTH-6): a session must have re-proved identity in the last few
    minutes. API tokens are already bound to a narrow scope and carry no interactive proof."""
    resolved = ctx.session_resolved
    if resolved is not None:
        sessions.require_fresh(resolved.login, ctx.vault.clock())
    return ctx


FreshCtx = Annotated[RequestContext, Depends(fresh_context)]
