"""Domain errors. Each maps to one RFC 9457 problem type; messages never carry PHI (I-4)."""

from __future__ import annotations


class PhivaultError(Exception):
    """Base of every error the API turns into problem JSON."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class InvalidInput(PhivaultError):
    status = 422
    slug = "invalid-input"
    title = "The request is not valid"


class NotFound(PhivaultError):
    """Absent and forbidden look the same to the caller (I-5)."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Unauthenticated(PhivaultError):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(PhivaultError):
    """For actions that name no resource (e.g. reading the audit log)."""

    status = 403
    slug = "forbidden"
    title = "Not permitted"


class PurposeRequired(PhivaultError):
    status = 400
    slug = "purpose-required"
    title = "A purpose of use is required"


class Conflict(PhivaultError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class PayloadTooLarge(PhivaultError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(PhivaultError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class AuditUnavailable(PhivaultError):
    """The audit event could not be written, so nothing was returned or changed (I-3)."""

    status = 503
    slug = "audit-unavailable"
    title = "Audit trail unavailable; the request was not carried out"


class KeyUnavailable(PhivaultError):
    status = 500
    slug = "key-unavailable"
    title = "A key needed for this request is unavailable"


class DocumentUnavailable(PhivaultError):
    """The document's row exists but its encrypted content cannot be read (I/O or integrity)."""

    status = 503
    slug = "document-unavailable"
    title = "The document's content is unavailable"


class PasswordChangeRequired(PhivaultError):
    """Initial, reset or expired password: nothing but a password change until it is done."""

    status = 403
    slug = "password-change-required"
    title = "Change your password first"


class MfaRequired(PhivaultError):
    status = 403
    slug = "mfa-required"
    title = "A second factor is required"


class ReauthRequired(PhivaultError):
    """Sensitive actions need a recent proof of identity (AUTH-6)."""

    status = 403
    slug = "reauthentication-required"
    title = "Confirm it is you"


class CsrfFailed(PhivaultError):
    status = 403
    slug = "csrf-failed"
    title = "The request did not carry this session's CSRF token"


class TooManyAttempts(PhivaultError):
    """Throttled sign-in (AUTH-7). ``retry_after`` seconds go into the Retry-After header."""

    status = 429
    slug = "too-many-attempts"
    title = "Too many failed attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed attempts; try again in {retry_after} seconds")
        self.retry_after = retry_after
