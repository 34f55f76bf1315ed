"""Sign-in, second factors, password changes and resets, sessions and API tokens.

The flows are page-ready: every step is one request with a JSON answer saying what comes next
(``stage``), so the web pages of the next issue only render them. Cookie-authenticated unsafe
requests need the session's CSRF token (X-CSRF-Token).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status

from phivault.api.cookies import set_device_cookie, set_session_cookie
from phivault.api.deps import (
    Principal,
    authenticate,
    client_of,
    cross_site,
    declare,
    get_vault,
)
from phivault.api.schemas_auth import (
    CodeIn,
    CredentialIn,
    EnrolmentOut,
    InvitationOut,
    LoginIn,
    PasswordChangeIn,
    ReauthIn,
    RecoveryCodesOut,
    ResetIn,
    ResetRequestIn,
    SelfResetIn,
    SessionOut,
    SessionRow,
    TokenIn,
    TokenOut,
    TokenRow,
)
from phivault.errors import Forbidden, NotFound
from phivault.identity import (
    auth,
    factors,
    invitations,
    passkeys,
    recovery,
    sessions,
)
from phivault.identity import service as identity
from phivault.identity.session_models import LoginSession
from phivault.vault import Vault

router = APIRouter(prefix="/api/v1/auth", tags=["sign-in"])
SELF = declare("self")
PUBLIC = declare("public")

VaultDep = Annotated[Vault, Depends(get_vault)]


def require_session(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    if principal.resolved is None:
        raise Forbidden("this needs a signed-in session, not an API token")
    return principal


SessionDep = Annotated[Principal, Depends(require_session)]


def _same_origin(request: Request) -> None:
    """Login CSRF defence: refuse a sign-in a browser sent from another site."""
    if cross_site(request):
        raise Forbidden("cross-site sign-in refused")


def _out(view: auth.SessionView) -> SessionOut:
    return SessionOut(
        session_id=view.session_id,
        member_id=view.member_id,
        username=view.username,
        display_name=view.display_name,
        stage=view.stage,
        csrf_token=view.csrf_token,
        idle_timeout_seconds=view.idle_seconds,
        expires_at=view.expires_at,
        password_expires_in_days=view.password_expires_in_days,
        mfa_enrolled=view.mfa_enrolled,
    )


def _rotated(response: Response, request: Request, view: auth.SessionView) -> SessionOut:
    """The answer to a step that gave the session a new secret: the new cookie with it."""
    if view.session_secret:
        set_session_cookie(response, request, view.session_secret)
    return _out(view)


def _relying_party(vault: Vault, request: Request) -> factors.RelyingParty:
    return factors.RelyingParty.of(vault.settings.public_url, str(request.base_url))


def _reload(db: Any, principal: Principal) -> tuple[LoginSession, Any]:
    assert principal.resolved is not None
    login = db.get(LoginSession, principal.resolved.login.id)
    member = db.get(type(principal.resolved.member), principal.member_id)
    assert login is not None and member is not None
    return login, member


@router.post("/login", openapi_extra=PUBLIC)
def login(body: LoginIn, request: Request, response: Response, vault: VaultDep) -> SessionOut:
    """Check username and password. ``stage`` says what comes next: a password change, MFA
    enrolment, an MFA check, or nothing (complete)."""
    _same_origin(request)
    signed = auth.sign_in(
        vault,
        username=body.username,
        password=body.password,
        client=client_of(request),
        device_secret=request.cookies.get(sessions.DEVICE_COOKIE),
    )
    set_session_cookie(response, request, signed.secret)
    return _out(signed.view)


@router.get("/session", openapi_extra=SELF)
def current(principal: SessionDep, vault: VaultDep) -> SessionOut:
    with auth.identity_transaction(vault) as db:
        login, member = _reload(db, principal)
        return _out(auth.describe(db, login, member, vault.clock()))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, openapi_extra=SELF)
def logout(principal: SessionDep, request: Request, response: Response, vault: VaultDep) -> None:
    assert principal.resolved is not None
    auth.sign_out(vault, principal.resolved, client_of(request))
    response.delete_cookie(sessions.SESSION_COOKIE, path="/")


@router.post("/password", openapi_extra=SELF)
def change_password(
    body: PasswordChangeIn,
    principal: SessionDep,
    request: Request,
    response: Response,
    vault: VaultDep,
) -> SessionOut:
    """Change one's password: only once the sign-in is complete, or as the forced change.
    The current password counts towards the sign-in throttle; the session gets a new cookie."""
    assert principal.resolved is not None
    view = auth.change_password(
        vault,
        principal.resolved,
        current=body.current_password,
        new=body.new_password,
        client=client_of(request),
    )
    return _rotated(response, request, view)


@router.post("/mfa/totp/enrol", openapi_extra=SELF)
def totp_enrol(principal: SessionDep, request: Request, vault: VaultDep) -> EnrolmentOut:
    """Start TOTP enrolment: a secret, its otpauth URI and a QR code (SVG)."""
    assert principal.resolved is not None
    enrolment = factors.begin_totp(
        vault, principal.resolved, principal.assurance, client_of(request)
    )
    return EnrolmentOut(
        secret=enrolment.secret,
        otpauth_uri=enrolment.provisioning_uri,
        qr_svg=enrolment.qr_svg,
    )


@router.post("/mfa/totp/confirm", openapi_extra=SELF)
def totp_confirm(
    body: CodeIn, principal: SessionDep, request: Request, response: Response, vault: VaultDep
) -> RecoveryCodesOut:
    """Confirm enrolment with a first code; returns recovery codes, shown this once."""
    assert principal.resolved is not None
    codes, view = factors.confirm_totp(vault, principal.resolved, body.code, client_of(request))
    return RecoveryCodesOut(recovery_codes=codes, session=_rotated(response, request, view))


def _verify_factor(
    principal: Principal,
    request: Request,
    response: Response,
    vault: Vault,
    method: str,
    check: factors.FactorCheck,
    remember: bool,
) -> SessionOut:
    assert principal.resolved is not None
    done = factors.verify(
        vault, principal.resolved, client_of(request), method=method, check=check, remember=remember
    )
    set_device_cookie(response, request, done.device_secret, done.remember_days)
    return _rotated(response, request, done.view)


@router.post("/mfa/totp/verify", openapi_extra=SELF)
def totp_verify(
    body: CodeIn, principal: SessionDep, request: Request, response: Response, vault: VaultDep
) -> SessionOut:
    return _verify_factor(
        principal,
        request,
        response,
        vault,
        "totp",
        factors.totp_check(vault, body.code),
        body.remember_device,
    )


@router.post("/mfa/recovery", openapi_extra=SELF)
def recovery_verify(
    body: CodeIn, principal: SessionDep, request: Request, response: Response, vault: VaultDep
) -> SessionOut:
    """Use a single-use recovery code instead of the second factor."""
    return _verify_factor(
        principal,
        request,
        response,
        vault,
        "recovery-code",
        factors.recovery_check(vault, body.code),
        False,
    )


@router.post("/passkeys/register/options", openapi_extra=SELF)
def passkey_register_options(principal: SessionDep, request: Request, vault: VaultDep) -> Any:
    assert principal.resolved is not None
    options = factors.passkey_registration_options(
        vault, principal.resolved, principal.assurance, _relying_party(vault, request)
    )
    return json.loads(options)


@router.post("/passkeys/register/verify", status_code=status.HTTP_201_CREATED, openapi_extra=SELF)
def passkey_register_verify(
    body: CredentialIn,
    principal: SessionDep,
    request: Request,
    response: Response,
    vault: VaultDep,
) -> SessionOut:
    """Register a passkey; as a first factor enrolment it also counts as verified MFA."""
    assert principal.resolved is not None
    view = factors.register_passkey(
        vault,
        principal.resolved,
        principal.assurance,
        body.credential,
        label=body.label,
        rp=_relying_party(vault, request),
        client=client_of(request),
    )
    return _rotated(response, request, view)


@router.post("/passkeys/authenticate/options", openapi_extra=SELF)
def passkey_options(principal: SessionDep, request: Request, vault: VaultDep) -> Any:
    assert principal.resolved is not None
    options = factors.passkey_authentication_options(
        vault, principal.resolved, _relying_party(vault, request)
    )
    return json.loads(options)


@router.post("/passkeys/authenticate/verify", openapi_extra=SELF)
def passkey_verify(
    body: CredentialIn,
    principal: SessionDep,
    request: Request,
    response: Response,
    vault: VaultDep,
) -> SessionOut:
    assert principal.resolved is not None
    check = factors.passkey_check(
        principal.resolved.login.id, body.credential, _relying_party(vault, request)
    )
    return _verify_factor(
        principal, request, response, vault, "passkey", check, body.remember_device
    )


def _complete_and_fresh(principal: Principal, now: Any) -> None:
    """Managing one's factors needs a complete sign-in confirmed in the last minutes."""
    assert principal.resolved is not None
    factors.require_complete_and_fresh(principal.assurance, principal.resolved.login, now)


@router.post("/mfa/recovery-codes", openapi_extra=SELF)
def regenerate_codes(principal: SessionDep, request: Request, vault: VaultDep) -> dict[str, Any]:
    """New recovery codes (the old ones stop working); shown this once."""
    assert principal.resolved is not None
    codes = factors.regenerate_recovery_codes(
        vault, principal.resolved, principal.assurance, client_of(request)
    )
    return {"recovery_codes": codes}


@router.get("/passkeys", openapi_extra=SELF)
def my_passkeys(principal: SessionDep, vault: VaultDep) -> list[dict[str, Any]]:
    with auth.identity_transaction(vault) as db:
        return [vars(p) for p in passkeys.list_passkeys(db, principal.member_id)]


@router.delete("/passkeys/{passkey_id}", status_code=status.HTTP_204_NO_CONTENT, openapi_extra=SELF)
def remove_passkey(
    passkey_id: uuid.UUID, principal: SessionDep, request: Request, vault: VaultDep
) -> None:
    """Remove one of your passkeys (not the only second factor where one is required)."""
    assert principal.resolved is not None
    factors.remove_passkey(
        vault, principal.resolved, principal.assurance, passkey_id, client_of(request)
    )


@router.post("/reauth", openapi_extra=SELF)
def reauthenticate(
    body: ReauthIn, principal: SessionDep, request: Request, vault: VaultDep
) -> SessionOut:
    """Prove it is still you (password, or a TOTP code) before a sensitive action."""
    assert principal.resolved is not None
    view = recovery.reauthenticate(
        vault, principal.resolved, password=body.password, code=body.code, client=client_of(request)
    )
    return _out(view)


def _complete_session(db: Any, principal: Principal, now: Any) -> None:
    """Managing one's sessions needs a signed-in session past every sign-in step: not an API
    token (of whatever scope), and not a password without its second factor."""
    login, member = _reload(db, principal)
    if auth.describe(db, login, member, now).stage != auth.COMPLETE:
        raise Forbidden("complete the sign-in (password and second factor) first")


@router.get("/invitations", openapi_extra=SELF)
def my_invitations(principal: SessionDep, vault: VaultDep) -> list[InvitationOut]:
    """Agencies that invited this account (ACC-12); nothing changes until it accepts."""
    with auth.identity_transaction(vault) as db:
        _complete_session(db, principal, vault.clock())
    return [
        InvitationOut(**asdict(i)) for i in invitations.my_invitations(vault, principal.member_id)
    ]


@router.post(
    "/invitations/{tenant_id}/accept",
    status_code=status.HTTP_204_NO_CONTENT,
    openapi_extra=SELF,
)
def accept_invitation(
    tenant_id: uuid.UUID, principal: SessionDep, request: Request, vault: VaultDep
) -> None:
    """Accept an agency's invitation: standing there starts now. A complete sign-in only."""
    with auth.identity_transaction(vault) as db:
        _complete_session(db, principal, vault.clock())
    invitations.accept_invitation(
        vault, principal.member_id, tenant_id, client_of(request), session=principal.credential
    )


@router.get("/sessions", openapi_extra=SELF)
def my_sessions(principal: SessionDep, vault: VaultDep) -> list[SessionRow]:
    """One's own open sessions (a complete sign-in only)."""
    now = vault.clock()
    with auth.identity_transaction(vault) as db:
        _complete_session(db, principal, now)
        return [SessionRow(**row) for row in recovery.list_sessions(db, principal.member_id, now)]


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, openapi_extra=SELF)
def revoke_my_session(
    session_id: uuid.UUID, principal: SessionDep, request: Request, vault: VaultDep
) -> None:
    """End one of one's own sessions (a complete sign-in only)."""
    with auth.identity_transaction(vault) as db:
        _complete_session(db, principal, vault.clock())
        revoked = auth.revoke_sessions(
            vault,
            db,
            principal.member_id,
            [session_id],
            actor_id=principal.member_id,
            client=client_of(request),
            reason="revoked-by-member",
        )
    if not revoked:
        raise NotFound()


@router.get("/tokens", openapi_extra=SELF)
def my_tokens(principal: SessionDep, vault: VaultDep) -> list[TokenRow]:
    return [TokenRow(**vars(t)) for t in identity.my_tokens(vault, principal.member_id)]


@router.post("/tokens", status_code=status.HTTP_201_CREATED, openapi_extra=SELF)
def create_token(
    body: TokenIn, principal: SessionDep, request: Request, vault: VaultDep
) -> TokenOut:
    """An integration token for one tenant and chosen permissions; shown this once. Needs a
    complete session (password and second factor) confirmed in the last few minutes."""
    assert principal.resolved is not None
    token_id, token = identity.do_issue_token(
        vault,
        principal.resolved,
        client_of(request),
        tenant_id=body.tenant_id,
        scopes=body.scopes,
        days=body.days,
        label=body.label,
    )
    return TokenOut(id=token_id, token=token)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, openapi_extra=SELF)
def revoke_my_token(
    token_id: uuid.UUID, principal: SessionDep, request: Request, vault: VaultDep
) -> None:
    identity.do_revoke_token(vault, principal.member_id, token_id, client_of(request))


@router.post("/reset-requests", status_code=status.HTTP_202_ACCEPTED, openapi_extra=PUBLIC)
def request_reset(body: ResetRequestIn, request: Request, vault: VaultDep) -> dict[str, str]:
    """Ask for a password reset. The answer is the same whether or not the username exists."""
    recovery.request_reset(vault, body.username, client_of(request))
    return {"detail": "if that account exists, its manager can now authorize a reset"}


@router.post("/reset", status_code=status.HTTP_204_NO_CONTENT, openapi_extra=PUBLIC)
def complete_reset(body: ResetIn, request: Request, vault: VaultDep) -> None:
    """Set a new password with the one-time code a manager handed over."""
    recovery.complete_reset(vault, body.code, body.new_password, client_of(request))


@router.post("/reset/self", status_code=status.HTTP_204_NO_CONTENT, openapi_extra=PUBLIC)
def self_reset(body: SelfResetIn, request: Request, vault: VaultDep) -> None:
    """Where every tenant of the member allows it: reset with the second factor instead."""
    recovery.self_service_reset(
        vault, body.username, body.code, body.new_password, client_of(request)
    )
