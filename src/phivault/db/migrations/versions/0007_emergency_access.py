"""emergency access: break-glass bounds per member and notifications

Revision ID: 0007
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0003"
branch_labels = None
depends_on = None

APP_ROLE = "phivault_app"


def upgrade() -> None:
    with op.batch_alter_table("tenant_settings") as batch:
        batch.add_column(
            sa.Column("break_glass_per_shift", sa.Integer(), nullable=False, server_default="3")
        )
        batch.add_column(
            sa.Column("break_glass_max_minutes", sa.Integer(), nullable=False, server_default="60")
        )
    with op.batch_alter_table("tenant_settings") as batch:
        # The defaults filled existing rows; new rows get theirs from the model, like the others.
        batch.alter_column("break_glass_per_shift", server_default=None)
        batch.alter_column("break_glass_max_minutes", server_default=None)
    op.create_table(
        "notifications",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("ref_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["members.id"], name=op.f("fk_notifications_recipient_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_notifications_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_notifications")),
    )
    op.create_index(
        "ix_notifications_recipient",
        "notifications",
        ["tenant_id", "recipient_id", "read_at"],
        unique=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        predicate = (
            "(tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
            " OR current_setting('app.scope', true) = 'system')"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON notifications TO {APP_ROLE}")
        op.execute("ALTER TABLE notifications ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE notifications FORCE ROW LEVEL SECURITY")
        op.execute(
            "CREATE POLICY tenant_isolation ON notifications"
            f" USING {predicate} WITH CHECK {predicate}"
        )


def downgrade() -> None:
    op.drop_index("ix_notifications_recipient", table_name="notifications")
    op.drop_table("notifications")
    with op.batch_alter_table("tenant_settings") as batch:
        batch.drop_column("break_glass_max_minutes")
        batch.drop_column("break_glass_per_shift")
