"""credential slots: the dashboard counts due credentials without decrypting every record

Revision ID: 0012
Revises: 0011

One row per caregiver and credential kind (and per view: every record, or untagged records
only) holding the latest expiry, under a keyed slot id that names neither (see
records/credential_slots.py). The rows are derived from encrypted records, which SQL cannot
read: a tenant's slots are built the first time its due credentials are counted after this
upgrade (``credential_slot_builds`` records that), then kept by the services that write
credentials.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

APP_ROLE = "phivault_app"
TABLES = ("credential_slots", "credential_slot_builds")


def upgrade() -> None:
    op.create_table(
        "credential_slots",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("slot", sa.LargeBinary(length=32), nullable=False),
        sa.Column("view", sa.String(length=8), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_credential_slots_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "slot", name=op.f("pk_credential_slots")),
    )
    op.create_index(
        "ix_credential_slots_due", "credential_slots", ["tenant_id", "view", "expires_on"]
    )
    op.create_table(
        "credential_slot_builds",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_credential_slot_builds_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_credential_slot_builds")),
    )
    if op.get_bind().dialect.name == "postgresql":
        predicate = (
            "(tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
            " OR current_setting('app.scope', true) = 'system')"
        )
        for table in TABLES:
            op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY tenant_isolation ON {table} USING {predicate} WITH CHECK {predicate}"
            )


def downgrade() -> None:
    op.drop_table("credential_slot_builds")
    op.drop_index("ix_credential_slots_due", table_name="credential_slots")
    op.drop_table("credential_slots")
