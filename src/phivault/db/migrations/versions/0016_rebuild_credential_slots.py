"""credential slots keyed by the credential's kind exactly as stored

Revision ID: 0016
Revises: 0015

A slot's key was a blind index of (caregiver, kind, view), and blind indexes normalise their
inputs (case, accents, spacing) for search: two kinds that differ only in case ("TB test",
"tb test") shared one slot, so the dashboard's count was wrong, or an agency's first build
failed on the unique key every time. Keys now hash the kind exactly as stored. The old slots
cannot be re-keyed without decrypting (a SQL migration cannot), so they and their build
marks are dropped: each agency's slots are built again from its records the first time they
are counted, as after 0012 (docs/operations.md).
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:  # row-level security is forced on the owner too
        op.execute("SELECT set_config('app.scope', 'system', true)")
    op.execute("DELETE FROM credential_slots")
    op.execute("DELETE FROM credential_slot_builds")
    if postgres:
        op.execute("SELECT set_config('app.scope', '', true)")


def downgrade() -> None:
    # Slots of either shape are rebuilt when missing; dropping them again is the way back.
    upgrade()
