"""Screen presence: how many lobby screens each instance holds for each site.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "screen_presence",
        sa.Column("instance", sa.String(length=32), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("screens", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_screen_presence_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance", "site_id", name=op.f("pk_screen_presence")),
    )


def downgrade() -> None:
    op.drop_table("screen_presence")
