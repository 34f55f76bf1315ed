"""Request context: the authenticated member, the stated purpose and the route's declared
permissions, turned into guarded units of work."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from phivault.access.policy import Permission, PurposeOfUse
from phivault.access.unit import Actor, Unit, Vault
from phivault.audit.events import REFUSED, EventDraft
from phivault.db.engine import SYSTEM_TENANT, Scope
from phivault.errors import Forbidden, PurposeRequired, Unauthenticated
from phivault.identity.service import TokenIdentity, authenticate_token

PERMISSION_KEY = "x-phivault-permissions"


def declare(*permissions: Permission | str) -> dict[str, Any]:
    """Route metadata naming the permissions a route may exercise ('public' for none).

    The guard refuses any permission a route did not declare, and a test walks every route
    to make sure each declares something.
    """
    return {PERMISSION_KEY: [str(p) for p in permissions]}


def declared_permissions(request: Request) -> frozenset[Permission]:
    route = request.scope.get("route")
    extra = getattr(route, "openapi_extra", None) or {}
    return frozenset(Permission(p) for p in extra.get(PERMISSION_KEY, []) if p != "public")


def get_vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


def _actor_meta(request: Request) -> tuple[str, str]:
    source = request.client.host if request.client else ""
    return source[:64], getattr(request.state, "request_id", "")


def authenticate(request: Request, vault: Annotated[Vault, Depends(get_vault)]) -> TokenIdentity:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    source, request_id = _actor_meta(request)
    try:
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("send 'Authorization: Bearer <token>'")
        with vault.db.transaction(Scope.platform()) as session:
            return authenticate_token(session, token.strip(), vault.clock())
    except Unauthenticated:
        vault.append_system_event(
            EventDraft(
                tenant_id=SYSTEM_TENANT,
                action="auth.token",
                outcome=REFUSED,
                occurred_at=vault.clock(),
                reason="invalid-credentials",
                source=source,
                request_id=request_id,
            )
        )
        raise


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
    identity: TokenIdentity
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
        if not self.identity.is_platform_admin:
            self.vault.append_system_event(
                EventDraft(
                    tenant_id=SYSTEM_TENANT,
                    action="platform.admin",
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
    identity: Annotated[TokenIdentity, Depends(authenticate)],
) -> RequestContext:
    purpose, reason = _purpose(request)
    source, request_id = _actor_meta(request)
    actor = Actor(
        member_id=identity.member_id,
        session_id=f"token:{identity.token_id}",
        source=source,
        request_id=request_id,
    )
    return RequestContext(vault, identity, actor, purpose, reason, declared_permissions(request))


Ctx = Annotated[RequestContext, Depends(request_context)]
