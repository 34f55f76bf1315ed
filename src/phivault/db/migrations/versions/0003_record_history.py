"""record history, voiding and one MRN per agency

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APP_ROLE = "phivault_app"
NEW_TABLES = ("record_versions", "person_versions")


def _void_columns(table: str) -> None:
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("voided_by", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("void_reason_ct", sa.LargeBinary(), nullable=True))
        batch.create_foreign_key(
            op.f(f"fk_{table}_voided_by_members"), "members", ["voided_by"], ["id"]
        )


def upgrade() -> None:
    _void_columns("people")
    _void_columns("records")
    # One MRN per agency: the blind index is unique within the tenant (NULLs never collide).
    op.drop_index("ix_people_mrn", table_name="people")
    op.create_index("ix_people_mrn", "people", ["tenant_id", "bidx_mrn"], unique=True)
    op.create_table(
        "record_versions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tags_ct", sa.LargeBinary(), nullable=False),
        sa.Column("minimum_ct", sa.LargeBinary(), nullable=True),
        sa.Column("summary_ct", sa.LargeBinary(), nullable=True),
        sa.Column("full_ct", sa.LargeBinary(), nullable=True),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_by", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["replaced_by"], ["members.id"], name=op.f("fk_record_versions_replaced_by_members")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "record_id"],
            ["records.tenant_id", "records.id"],
            name=op.f("fk_record_versions_tenant_id_records"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_record_versions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_record_versions")),
    )
    op.create_index(
        "ix_record_versions_record",
        "record_versions",
        ["tenant_id", "record_id", "version"],
        unique=True,
    )
    op.create_table(
        "person_versions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("given_name_ct", sa.LargeBinary(), nullable=False),
        sa.Column("family_name_ct", sa.LargeBinary(), nullable=False),
        sa.Column("date_of_birth_ct", sa.LargeBinary(), nullable=False),
        sa.Column("mrn_ct", sa.LargeBinary(), nullable=True),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_by", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["replaced_by"], ["members.id"], name=op.f("fk_person_versions_replaced_by_members")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "person_id"],
            ["people.tenant_id", "people.id"],
            name=op.f("fk_person_versions_tenant_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_person_versions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_person_versions")),
    )
    op.create_index(
        "ix_person_versions_person",
        "person_versions",
        ["tenant_id", "person_id", "replaced_at"],
        unique=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_security()


def _postgres_security() -> None:
    predicate = (
        "(tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
        " OR current_setting('app.scope', true) = 'system')"
    )
    # A kept version is immutable: no DELETE, and an UPDATE may only re-encrypt its ciphertext
    # columns (key rotation); its record, number, times and author never change.
    op.execute(r"""
        CREATE FUNCTION phivault_version_immutable() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' OR (
                SELECT jsonb_object_agg(key, value) FROM jsonb_each(to_jsonb(NEW))
                WHERE key NOT LIKE '%\_ct'
            ) IS DISTINCT FROM (
                SELECT jsonb_object_agg(key, value) FROM jsonb_each(to_jsonb(OLD))
                WHERE key NOT LIKE '%\_ct'
            ) THEN
                RAISE EXCEPTION '% keeps earlier versions: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END $$;
    """)
    for table in NEW_TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} USING {predicate} WITH CHECK {predicate}"
        )
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION phivault_version_immutable()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        op.execute("DROP FUNCTION IF EXISTS phivault_version_immutable()")
    op.drop_index("ix_person_versions_person", table_name="person_versions")
    op.drop_table("person_versions")
    op.drop_index("ix_record_versions_record", table_name="record_versions")
    op.drop_table("record_versions")
    op.drop_index("ix_people_mrn", table_name="people")
    op.create_index("ix_people_mrn", "people", ["tenant_id", "bidx_mrn"], unique=False)
    for table in ("records", "people"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"fk_{table}_voided_by_members"), type_="foreignkey")
            batch.drop_column("void_reason_ct")
            batch.drop_column("voided_by")
            batch.drop_column("voided_at")
