"""Every action an audit event can name, in one enum (I-3).

The value is what the event stores. Each action belongs to a group, for people reading the
trail: the audit viewer's filter is generated from this enum, so a new action is offered
there as soon as it exists.
"""

from __future__ import annotations

from enum import StrEnum


class AuditGroup(StrEnum):
    HEALTH = "Health information"
    EMERGENCY = "Emergency access"
    ADMINISTRATION = "Administration"
    SIGN_IN = "Sign-in and accounts"
    AUDIT = "Audit and keys"


class AuditAction(StrEnum):
    group: AuditGroup

    def __new__(cls, value: str, group: AuditGroup) -> AuditAction:
        member = str.__new__(cls, value)
        member._value_ = value
        member.group = group
        return member

    # -- health information ---------------------------------------------------------------
    PERSON_READ = "person.read", AuditGroup.HEALTH
    PERSON_SEARCH = "person.search", AuditGroup.HEALTH
    PERSON_LIST = "person.list", AuditGroup.HEALTH
    PERSON_CREATE = "person.create", AuditGroup.HEALTH
    PERSON_UPDATE = "person.update", AuditGroup.HEALTH
    PERSON_VERSIONS = "person.versions", AuditGroup.HEALTH
    PERSON_VOID = "person.void", AuditGroup.HEALTH
    RECORD_READ = "record.read", AuditGroup.HEALTH
    RECORD_LIST = "record.list", AuditGroup.HEALTH
    RECORD_COMPOSE = "record.compose", AuditGroup.HEALTH
    RECORD_CREATE = "record.create", AuditGroup.HEALTH
    RECORD_UPDATE = "record.update", AuditGroup.HEALTH
    RECORD_VERSIONS = "record.versions", AuditGroup.HEALTH
    RECORD_VOID = "record.void", AuditGroup.HEALTH
    DOCUMENT_READ = "document.read", AuditGroup.HEALTH
    DOCUMENT_VIEW = "document.view", AuditGroup.HEALTH
    DOCUMENT_DOWNLOAD = "document.download", AuditGroup.HEALTH
    DOCUMENT_UPLOAD_BEGIN = "document.upload.begin", AuditGroup.HEALTH
    DOCUMENT_UPLOAD = "document.upload", AuditGroup.HEALTH
    DOCUMENT_LIST = "document.list", AuditGroup.HEALTH
    DOCUMENT_VOID = "document.void", AuditGroup.HEALTH

    # -- emergency access -----------------------------------------------------------------
    BREAK_GLASS_START = "break_glass.start", AuditGroup.EMERGENCY
    BREAK_GLASS_END = "break_glass.end", AuditGroup.EMERGENCY
    BREAK_GLASS_REVIEW = "break_glass.review", AuditGroup.EMERGENCY
    BREAK_GLASS_LIST = "break_glass.list", AuditGroup.EMERGENCY
    EMERGENCY_SEARCH = "emergency.search", AuditGroup.EMERGENCY
    NOTIFICATION_SEND = "notification.send", AuditGroup.EMERGENCY
    NOTIFICATION_LIST = "notification.list", AuditGroup.EMERGENCY
    NOTIFICATION_READ = "notification.read", AuditGroup.EMERGENCY

    # -- administration -------------------------------------------------------------------
    TENANT_CREATE = "tenant.create", AuditGroup.ADMINISTRATION
    WORKFORCE_MEMBER_LIST = "workforce.member.list", AuditGroup.ADMINISTRATION
    WORKFORCE_MEMBER_READ = "workforce.member.read", AuditGroup.ADMINISTRATION
    WORKFORCE_MEMBER_ADD = "workforce.member.add", AuditGroup.ADMINISTRATION
    WORKFORCE_MEMBER_ACTIVE = "workforce.member.active", AuditGroup.ADMINISTRATION
    WORKFORCE_MEMBER_SUSPENDED = "workforce.member.suspended", AuditGroup.ADMINISTRATION
    WORKFORCE_MEMBER_TERMINATED = "workforce.member.terminated", AuditGroup.ADMINISTRATION
    WORKFORCE_GRANT = "workforce.grant", AuditGroup.ADMINISTRATION
    WORKFORCE_REVOKE = "workforce.revoke", AuditGroup.ADMINISTRATION
    WORKFORCE_MANAGER_SET = "workforce.manager.set", AuditGroup.ADMINISTRATION
    WORKFORCE_MFA_RESET = "workforce.mfa.reset", AuditGroup.ADMINISTRATION
    WORKFORCE_SESSIONS_REVOKE = "workforce.sessions.revoke", AuditGroup.ADMINISTRATION
    WORKFORCE_RESET_LIST = "workforce.reset.list", AuditGroup.ADMINISTRATION
    WORKFORCE_RESET_AUTHORIZE = "workforce.reset.authorize", AuditGroup.ADMINISTRATION
    WORKFORCE_INVITE_ACCEPT = "workforce.invite.accept", AuditGroup.ADMINISTRATION
    SETTINGS_READ = "settings.read", AuditGroup.ADMINISTRATION
    SETTINGS_UPDATE = "settings.update", AuditGroup.ADMINISTRATION
    DIRECTORY_READ = "directory.read", AuditGroup.ADMINISTRATION
    DIRECTORY_ROLE_CATEGORY_ADD = "directory.role_category.add", AuditGroup.ADMINISTRATION
    DIRECTORY_ROLE_CATEGORY_CHANGE = "directory.role_category.change", AuditGroup.ADMINISTRATION
    DIRECTORY_POSITION_ADD = "directory.position.add", AuditGroup.ADMINISTRATION
    DIRECTORY_POSITION_CHANGE = "directory.position.change", AuditGroup.ADMINISTRATION
    ACCESS_REVIEW_LIST = "access_review.list", AuditGroup.ADMINISTRATION
    ACCESS_REVIEW_CLOSE = "access_review.close", AuditGroup.ADMINISTRATION
    # The operator's command line, on the platform's own chain.
    MEMBER_CREATE = "member.create", AuditGroup.ADMINISTRATION
    MEMBER_ACTIVE = "member.active", AuditGroup.ADMINISTRATION
    MEMBER_SUSPENDED = "member.suspended", AuditGroup.ADMINISTRATION
    MEMBER_TERMINATED = "member.terminated", AuditGroup.ADMINISTRATION
    MEMBER_PASSWORD_RESET = "member.password.reset", AuditGroup.ADMINISTRATION
    PLATFORM_ADMIN = "platform.admin", AuditGroup.ADMINISTRATION

    # -- sign-in and accounts -------------------------------------------------------------
    AUTH_LOGIN = "auth.login", AuditGroup.SIGN_IN
    AUTH_LOGOUT = "auth.logout", AuditGroup.SIGN_IN
    AUTH_LOCKOUT = "auth.lockout", AuditGroup.SIGN_IN
    AUTH_SESSION = "auth.session", AuditGroup.SIGN_IN
    AUTH_SESSION_REVOKE = "auth.session.revoke", AuditGroup.SIGN_IN
    AUTH_CSRF = "auth.csrf", AuditGroup.SIGN_IN
    AUTH_TOKEN = "auth.token", AuditGroup.SIGN_IN
    AUTH_TOKEN_ISSUE = "auth.token.issue", AuditGroup.SIGN_IN
    AUTH_TOKEN_REVOKE = "auth.token.revoke", AuditGroup.SIGN_IN
    AUTH_REAUTH = "auth.reauth", AuditGroup.SIGN_IN
    AUTH_PASSWORD_CHANGE = "auth.password.change", AuditGroup.SIGN_IN
    AUTH_RESET_REQUEST = "auth.reset.request", AuditGroup.SIGN_IN
    AUTH_RESET_SELF = "auth.reset.self", AuditGroup.SIGN_IN
    AUTH_RESET_COMPLETE = "auth.reset.complete", AuditGroup.SIGN_IN
    AUTH_MFA_VERIFY = "auth.mfa.verify", AuditGroup.SIGN_IN
    AUTH_MFA_TOTP_BEGIN = "auth.mfa.totp.begin", AuditGroup.SIGN_IN
    AUTH_MFA_TOTP_ENROL = "auth.mfa.totp.enrol", AuditGroup.SIGN_IN
    AUTH_MFA_PASSKEY_ENROL = "auth.mfa.passkey.enrol", AuditGroup.SIGN_IN
    AUTH_MFA_PASSKEY_REMOVE = "auth.mfa.passkey.remove", AuditGroup.SIGN_IN
    AUTH_MFA_RECOVERY_REGENERATE = "auth.mfa.recovery.regenerate", AuditGroup.SIGN_IN

    # -- audit and keys -------------------------------------------------------------------
    AUDIT_QUERY = "audit.query", AuditGroup.AUDIT
    AUDIT_SUMMARY = "audit.summary", AuditGroup.AUDIT
    AUDIT_EXPORT = "audit.export", AuditGroup.AUDIT
    AUDIT_VERIFY = "audit.verify", AuditGroup.AUDIT
    ACCESS_GATE = "access.gate", AuditGroup.AUDIT
    KEY_ROTATE_START = "key.rotate.start", AuditGroup.AUDIT
    KEY_ROTATE_FINISH = "key.rotate.finish", AuditGroup.AUDIT
    MASTER_KEY_ROTATE = "master_key.rotate", AuditGroup.AUDIT


def grouped() -> dict[str, list[AuditAction]]:
    """Every action under its group's label, in the enum's order (the viewer's filter)."""
    groups: dict[str, list[AuditAction]] = {group.value: [] for group in AuditGroup}
    for action in AuditAction:
        groups[action.group.value].append(action)
    return groups
