"""Lobby screens paired by a manager, each with a revocable key.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "screens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_screens_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screens")),
        sa.UniqueConstraint("key_digest", name=op.f("uq_screens_key_digest")),
    )
    with op.batch_alter_table("screens", schema=None) as batch_op:
        batch_op.create_index(
            "ix_screens_site_id_revoked_at", ["site_id", "revoked_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("screens", schema=None) as batch_op:
        batch_op.drop_index("ix_screens_site_id_revoked_at")
    op.drop_table("screens")
