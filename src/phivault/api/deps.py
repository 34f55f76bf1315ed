"""Request context: the authenticated member, the stated purpose and the route's declared
permissions, turned into guarded units of work."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request

from phivault.access.policy import Permission, PurposeOfUse
from phivault.access.unit import Actor, Assurance, Unit
from phivault.audit.actions import AuditAction
from phivault.audit.events import REFUSED, EventDraft
from phivault.db.engine import SYSTEM_TENANT, Scope
from phivault.errors import CsrfFailed, Forbidden, PurposeRequired, Unauthenticated
from phivault.identity import sessions
from phivault.identity.auth import Client, session_assurance
from phivault.identity.service import authenticate_token, touch_token
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


def get_vault(request: Request) -> Vault:
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


def _refusal(vault: Vault, client: Client, action: AuditAction, reason: str) -> None:
    vault.append_system_event(
        EventDraft(
            tenant_id=SYSTEM_TENANT,
            action=action,
            outcome=REFUSED,
            occurred_at=vault.clock(),
            reason=reason,
            source=client.source,
            request_id=client.request_id,
        )
    )


def _from_token(vault: Vault, token: str, client: Client) -> Principal:
    now = vault.clock()
    try:
        with vault.db.reading(Scope.platform()) as session:
            identity = authenticate_token(session, token.strip(), now)
    except Unauthenticated:
        _refusal(vault, client, AuditAction.AUTH_TOKEN, "invalid-credentials")
        raise
    if identity.needs_touch:
        with vault.db.transaction(Scope.platform()) as session:
            touch_token(session, identity.token_id, now)
    return Principal(
        member_id=identity.member_id,
        is_platform_admin=identity.is_platform_admin,
        credential=f"token:{identity.token_id}",
        # Tokens are issued only from fully verified sessions (password and second factor).
        assurance=Assurance.complete(),
        token_tenant=identity.tenant_id,
        token_scopes=identity.scopes,
    )


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
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            _refusal(vault, client, AuditAction.AUTH_TOKEN, "malformed")
            raise Unauthenticated("send 'Authorization: Bearer <token>'")
        return _from_token(vault, token, client)
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


@dataclass
class RequestContext:
    vault: Vault
    identity: Principal
    actor: Actor
    purpose: PurposeOfUse | None
    reason: str | None
    declared: frozenset[Permission]

    @contextmanager
    def unit(self, tenant_id: uuid.UUID) -> Iterator[Unit]:
        with self.vault.unit(
            tenant_id, self.actor, self.purpose, self.reason, declared=self.declared
        ) as unit:
            yield unit

    def require_platform_admin(self) -> None:
        """Platform actions need the flag *and* a complete sign-in (settled password, second
        factor), like tenant work does through the guard's account gates."""
        assurance = self.identity.assurance
        if not (self.identity.is_platform_admin and assurance.password_ok and assurance.mfa):
            self.vault.append_system_event(
                EventDraft(
                    tenant_id=SYSTEM_TENANT,
                    action=AuditAction.PLATFORM_ADMIN,
                    outcome=REFUSED,
                    occurred_at=self.vault.clock(),
                    actor_id=self.actor.member_id,
                    session_id=self.actor.session_id,
                    reason="permission",
                    source=self.actor.source,
                    request_id=self.actor.request_id,
                )
            )
            raise Forbidden("platform administrators only")


def request_context(
    request: Request,
    vault: Annotated[Vault, Depends(get_vault)],
    identity: Annotated[Principal, Depends(authenticate)],
) -> RequestContext:
    purpose, reason = _purpose(request)
    client = client_of(request)
    actor = Actor(
        member_id=identity.member_id,
        session_id=identity.credential,
        source=client.source,
        request_id=client.request_id,
        assurance=identity.assurance,
        token_tenant=identity.token_tenant,
        token_scopes=identity.token_scopes,
    )
    return RequestContext(vault, identity, actor, purpose, reason, declared_permissions(request))


Ctx = Annotated[RequestContext, Depends(request_context)]


def fresh_context(ctx: Ctx) -> RequestContext:
    """For sensitive actions (AUTH-6): a session must have re-proved identity in the last few
    minutes. API tokens are already bound to a narrow scope and carry no interactive proof."""
    resolved = ctx.identity.resolved
    if resolved is not None:
        sessions.require_fresh(resolved.login, ctx.vault.clock())
    return ctx


FreshCtx = Annotated[RequestContext, Depends(fresh_context)]
