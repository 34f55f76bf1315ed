"""indexes for two lookups that ran on every PHI read and every audit viewer page

Revision ID: 0011
Revises: 0010

* ``ix_break_glass_active``: the guard asks on every PHI read whether the member holds an
  active emergency grant for the person. Without it the lookup scanned the agency's whole
  break-glass history (the primary key starts with the tenant only).
* ``ix_audit_action``: the audit viewer shows the latest verification of the chain (and
  filters by action), newest first; without it both walked back through the log.

On PostgreSQL ``CREATE INDEX`` blocks writes to the table while it builds: on a large
``audit_events`` table run this upgrade in a quiet hour (see docs/operations.md).
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_break_glass_active",
        "break_glass",
        ["tenant_id", "member_id", "person_id", "expires_at"],
        unique=False,
    )
    op.create_index("ix_audit_action", "audit_events", ["tenant_id", "action", "seq"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_action", table_name="audit_events")
    op.drop_index("ix_break_glass_active", table_name="break_glass")
