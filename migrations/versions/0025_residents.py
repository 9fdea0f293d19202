"""Residents who sign in with the City's OpenID Connect provider, their sessions, and the
appointments a signed-in resident booked (`appointments.resident_id`).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "residents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("phone_verified", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("last_seen_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residents")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_residents_issuer_subject")),
    )
    op.create_table(
        "resident_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("started_at", INSTANT, nullable=False),
        sa.Column("last_seen_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_resident_sessions_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_sessions")),
        sa.UniqueConstraint("digest", name=op.f("uq_resident_sessions_digest")),
    )
    op.create_index(op.f("ix_resident_sessions_resident_id"), "resident_sessions", ["resident_id"])
    op.create_index(
        op.f("ix_resident_sessions_last_seen_at"), "resident_sessions", ["last_seen_at"]
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resident_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_appointments_resident_id_residents",
            "residents",
            ["resident_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            "ix_appointments_resident_id_starts_at", ["resident_id", "starts_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_resident_id_starts_at")
        batch_op.drop_constraint("fk_appointments_resident_id_residents", type_="foreignkey")
        batch_op.drop_column("resident_id")
    op.drop_index(op.f("ix_resident_sessions_last_seen_at"), table_name="resident_sessions")
    op.drop_index(op.f("ix_resident_sessions_resident_id"), table_name="resident_sessions")
    op.drop_table("resident_sessions")
    op.drop_table("residents")
