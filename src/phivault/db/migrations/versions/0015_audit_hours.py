"""audit_hours: the trail counted per UTC hour, for the dashboard and the date filter

Revision ID: 0015
Revises: 0014

The dashboard's activity panel counted 14 days of entries (1.5M rows at 10M events) and the
viewer's date filter read a whole day of entries to sort it by ``seq``. ``audit_hours`` holds
per tenant and UTC hour the allowed, refused and emergency-access entries and the hour's
first and last ``seq``; every append keeps it, in the event's transaction (``audit/hours.py``
says why on append and not on first need). This upgrade counts the existing trail once:
one pass over ``audit_events`` (on a trail of millions of events, run it in a quiet hour; see
docs/operations.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

APP_ROLE = "phivault_app"

# The same count as phivault.audit.hours.recount, for every tenant (a migration keeps its own
# copy: it must not change when the application's code does).
COUNT_EXISTING = (
    "INSERT INTO audit_hours"
    " (tenant_id, hour, allowed, refused, break_glass, first_seq, last_seq)"
    " SELECT tenant_id, occurred_us / 3600000000,"
    " sum(CASE WHEN outcome = 'allowed' THEN 1 ELSE 0 END),"
    " sum(CASE WHEN outcome = 'allowed' THEN 0 ELSE 1 END),"
    " sum(CASE WHEN break_glass <> 0 THEN 1 ELSE 0 END), min(seq), max(seq)"
    " FROM audit_events GROUP BY tenant_id, occurred_us / 3600000000"
)


def upgrade() -> None:
    op.create_table(
        "audit_hours",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("hour", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("allowed", sa.BigInteger(), nullable=False),
        sa.Column("refused", sa.BigInteger(), nullable=False),
        sa.Column("break_glass", sa.BigInteger(), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "hour", name=op.f("pk_audit_hours")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        # Derived counts: the application adds and updates rows, never deletes them. Text
        # tenant ids, like the audit tables it counts (docs/architecture.md, departure (b)).
        predicate = (
            "(tenant_id = current_setting('app.tenant_id', true)"
            " OR current_setting('app.scope', true) = 'system')"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON audit_hours TO {APP_ROLE}")
        op.execute("ALTER TABLE audit_hours ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE audit_hours FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON audit_hours USING {predicate} WITH CHECK {predicate}"
        )
        # Row-level security applies to the owner too (FORCE): count every tenant's trail.
        op.execute("SELECT set_config('app.scope', 'system', true)")
    op.execute(COUNT_EXISTING)
    if postgres:
        op.execute("SELECT set_config('app.scope', '', true)")


def downgrade() -> None:
    op.drop_table("audit_hours")
