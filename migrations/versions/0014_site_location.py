"""Mairies have a position (latitude, longitude) and a few words on how to come.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-15
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("access", sa.String(length=300), server_default="", nullable=False)
        )
    # The mairies there are have no words yet; new ones get theirs from the model.
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.alter_column("access", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("access")
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")
