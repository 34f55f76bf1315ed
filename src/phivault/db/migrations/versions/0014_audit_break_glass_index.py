"""a partial index for the audit viewer's "emergency access only" filter

Revision ID: 0014
Revises: 0013

Emergency-access entries are few among many: the filter walked the tenant's whole log
backwards to find them. ``ix_audit_break_glass`` holds only those entries (a partial index,
so the other appends do not pay for it), newest first by ``seq``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_break_glass",
        "audit_events",
        ["tenant_id", "seq"],
        unique=False,
        postgresql_where=sa.text("break_glass = 1"),
        sqlite_where=sa.text("break_glass = 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_audit_break_glass", table_name="audit_events")
