"""identity and sessions

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_throttle",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_auth_throttle")),
    )
    op.create_table(
        "access_reviews",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("changed_by", sa.Uuid(), nullable=False),
        sa.Column("from_position_id", sa.Uuid(), nullable=True),
        sa.Column("to_position_id", sa.Uuid(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("closed_by", sa.Uuid(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["changed_by"], ["members.id"], name=op.f("fk_access_reviews_changed_by_members")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["members.id"], name=op.f("fk_access_reviews_closed_by_members")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_access_reviews_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_access_reviews_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_access_reviews")),
    )
    op.create_table(
        "password_history",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("hash", sa.String(length=200), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_password_history_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", "id", name=op.f("pk_password_history")),
    )
    op.create_table(
        "password_resets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("authorized_by", sa.Uuid(), nullable=True),
        sa.Column("authorized_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["authorized_by"], ["members.id"], name=op.f("fk_password_resets_authorized_by_members")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_password_resets_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    op.create_index(
        op.f("ix_password_resets_member_id"), "password_resets", ["member_id"], unique=False
    )
    op.create_table(
        "passwords",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("hash", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("must_change", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_passwords_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_passwords")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_recovery_codes_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", "id", name=op.f("pk_recovery_codes")),
    )
    op.create_table(
        "remembered_devices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_remembered_devices_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remembered_devices")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_remembered_devices_secret_hash")),
    )
    op.create_index(
        op.f("ix_remembered_devices_member_id"), "remembered_devices", ["member_id"], unique=False
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idle_seconds", sa.Integer(), nullable=False),
        sa.Column("password_verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mfa_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_ok_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fresh_auth_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.Column("current_tenant_id", sa.Uuid(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=32), nullable=False),
        sa.Column("webauthn_challenge", sa.LargeBinary(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["current_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sessions_current_tenant_id_tenants"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_sessions_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_sessions_secret_hash")),
    )
    op.create_index(op.f("ix_sessions_member_id"), "sessions", ["member_id"], unique=False)
    op.create_table(
        "tenant_settings",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("password_profile", sa.String(length=16), nullable=False),
        sa.Column("password_expiry_days", sa.Integer(), nullable=False),
        sa.Column("password_history", sa.Integer(), nullable=False),
        sa.Column("idle_timeout_minutes", sa.Integer(), nullable=False),
        sa.Column("mfa_required", sa.Boolean(), nullable=False),
        sa.Column("mfa_reverify_days", sa.Integer(), nullable=False),
        sa.Column("mfa_self_service_reset", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_settings_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_settings")),
    )
    op.create_table(
        "totp_credentials",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("secret_ct", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_totp_credentials_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_totp_credentials")),
    )
    op.create_table(
        "webauthn_credentials",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(length=1024), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_webauthn_credentials_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", "id", name=op.f("pk_webauthn_credentials")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_webauthn_credentials_credential_id")),
    )
    # SQLite cannot add a foreign key in place: batch mode rebuilds the table there and
    # emits plain ALTER TABLE statements on PostgreSQL.
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("tenant_id", sa.Uuid(), nullable=True))
        batch.add_column(
            sa.Column("scopes", sa.String(length=2000), nullable=False, server_default="*")
        )
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            op.f("fk_api_tokens_tenant_id_tenants"), "tenants", ["tenant_id"], ["id"]
        )
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("manager_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            op.f("fk_members_manager_id_members"), "members", ["manager_id"], ["id"]
        )
    with op.batch_alter_table("role_categories") as batch:
        batch.add_column(sa.Column("mfa_required", sa.Boolean(), nullable=True))

    # Tokens issued before sign-in existed carried no password or second factor behind them:
    # revoke them. Members sign in (operators reset first passwords with `phivault user
    # reset`) and issue scoped tokens anew.
    op.execute("UPDATE api_tokens SET revoked_at = CURRENT_TIMESTAMP WHERE revoked_at IS NULL")

    # Every existing tenant gets the default settings (NIST passwords, MFA, 10-minute idle).
    op.execute(
        "INSERT INTO tenant_settings (tenant_id, password_profile, password_expiry_days,"
        " password_history, idle_timeout_minutes, mfa_required, mfa_reverify_days,"
        " mfa_self_service_reset, updated_at)"
        " SELECT id, 'nist', 90, 6, 10, true, 30, false, created_at FROM tenants"
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_security()


TENANT_TABLES = ("access_reviews", "tenant_settings")
GLOBAL_TABLES = (
    "auth_throttle",
    "password_history",
    "password_resets",
    "passwords",
    "recovery_codes",
    "remembered_devices",
    "sessions",
    "totp_credentials",
    "webauthn_credentials",
)
APP_ROLE = "phivault_app"


def _postgres_security() -> None:
    for table in (*TENANT_TABLES, *GLOBAL_TABLES):
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    predicate = (
        "(tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
        " OR current_setting('app.scope', true) = 'system')"
    )
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} USING {predicate} WITH CHECK {predicate}"
        )


def downgrade() -> None:
    with op.batch_alter_table("role_categories") as batch:
        batch.drop_column("mfa_required")
    with op.batch_alter_table("members") as batch:
        batch.drop_constraint(op.f("fk_members_manager_id_members"), type_="foreignkey")
        batch.drop_column("status_changed_at")
        batch.drop_column("manager_id")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint(op.f("fk_api_tokens_tenant_id_tenants"), type_="foreignkey")
        batch.drop_column("last_used_at")
        batch.drop_column("scopes")
        batch.drop_column("tenant_id")
    op.drop_table("webauthn_credentials")
    op.drop_table("totp_credentials")
    op.drop_table("tenant_settings")
    op.drop_index(op.f("ix_sessions_member_id"), table_name="sessions")
    op.drop_table("sessions")
    op.drop_index(op.f("ix_remembered_devices_member_id"), table_name="remembered_devices")
    op.drop_table("remembered_devices")
    op.drop_table("recovery_codes")
    op.drop_table("passwords")
    op.drop_index(op.f("ix_password_resets_member_id"), table_name="password_resets")
    op.drop_table("password_resets")
    op.drop_table("password_history")
    op.drop_table("access_reviews")
    op.drop_table("auth_throttle")
