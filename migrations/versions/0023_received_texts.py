"""The texts the SMS gateway forwarded, by its id: a replayed one is taken once.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "received_texts",
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_received_texts")),
    )
    op.create_index(
        op.f("ix_received_texts_received_at"), "received_texts", ["received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_received_texts_received_at"), table_name="received_texts")
    op.drop_table("received_texts")
