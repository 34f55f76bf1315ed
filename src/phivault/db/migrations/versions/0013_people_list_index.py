"""an index for the list of an agency's patients or caregivers, paged by keyset

Revision ID: 0013
Revises: 0012

The people list (``records.service.people_page``) pages by (created_at, id) within one kind
of person: ``ix_people_list`` lets every page, the last of 100,000 people as the first, be
one index range instead of a sort of the agency's people.
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_people_list", "people", ["tenant_id", "kind", "created_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_people_list", table_name="people")
