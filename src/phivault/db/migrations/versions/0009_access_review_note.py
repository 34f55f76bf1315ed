"""access reviews keep the reviewer's note (encrypted)

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("access_reviews") as batch:
        batch.add_column(sa.Column("note_ct", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("access_reviews") as batch:
        batch.drop_column("note_ct")
