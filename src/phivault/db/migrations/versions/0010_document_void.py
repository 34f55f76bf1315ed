"""documents filed in error are voided with an encrypted reason, never deleted

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("voided_by", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("void_reason_ct", sa.LargeBinary(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_documents_voided_by_members"), "members", ["voided_by"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_constraint(op.f("fk_documents_voided_by_members"), type_="foreignkey")
        batch.drop_column("void_reason_ct")
        batch.drop_column("voided_by")
        batch.drop_column("voided_at")
