"""role directory: unique names per agency, retired categories and positions

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _refuse_duplicates(table: str, column: str) -> None:
    """Names were not unique before this revision. Renaming them here would change stored
    values behind the administrators' backs, so the upgrade stops and says what to do."""
    clash = (
        op.get_bind()
        .execute(
            sa.text(
                f"SELECT count(*) FROM (SELECT tenant_id, {column} FROM {table} "
                f"GROUP BY tenant_id, {column} HAVING count(*) > 1) AS clashes"
            )
        )
        .scalar_one()
    )
    if clash:
        raise RuntimeError(
            f"{clash} duplicate {column}(s) in {table} within an agency: rename them with the "
            "version of phivault you are upgrading from, then upgrade again"
        )


def upgrade() -> None:
    _refuse_duplicates("role_categories", "name")
    _refuse_duplicates("positions", "title")
    with op.batch_alter_table("role_categories") as batch:
        batch.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint(op.f("uq_role_categories_tenant_id"), ["tenant_id", "name"])
    with op.batch_alter_table("positions") as batch:
        batch.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint(op.f("uq_positions_tenant_id"), ["tenant_id", "title"])


def downgrade() -> None:
    with op.batch_alter_table("positions") as batch:
        batch.drop_constraint(op.f("uq_positions_tenant_id"), type_="unique")
        batch.drop_column("retired_at")
    with op.batch_alter_table("role_categories") as batch:
        batch.drop_constraint(op.f("uq_role_categories_tenant_id"), type_="unique")
        batch.drop_column("retired_at")
